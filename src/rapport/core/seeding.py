"""Realistic synthetic candidates and interaction histories with a known ground truth.

`generate_people(n, seed, now=...)` yields `SeedPerson`s: a `CandidateDraft` (Faker names that
match the country, a real city with its IANA timezone, BCP-47 languages, a role family and a
seniority that fit, a title, 4-12 taxonomy skills, headline, summary, unique emails, valid
E.164 phones, LinkedIn URLs, external ids, a source and tags), a `created_at` within the three
years before `now`, a time-ordered timeline of outreach events, and `truth`: the probabilities
the simulator actually used for that person. Output is a pure function of `(n, seed, now)`;
person `i` does not depend on `n` (a run of 100 is a prefix of a run of 1,000).

The generative model (also in `GROUND_TRUTH_DOC`, printed by `rapport seed --explain`):

* Each person has a latent responsiveness
  `logit r = base + source effect + seniority effect + role-family effect + N(0, sd)`.
  Referrals and careers-site applicants answer more, agency and stale CSV imports less;
  principals and executives answer less, juniors more.
* Every outreach touch (an email, LinkedIn message or SMS) gets a reply with probability
  `sigmoid(logit r + channel effect + replied-before bonus - fatigue * unanswered streak)`:
  having replied before raises the chance, each consecutive unanswered touch lowers it.
  Quiet hours and send time have no effect. Opens and clicks are driven by the same latent
  (plus machine opens that carry no signal, `payload["machine"] = True`).
* A positive reply moves the person to `engaged`; from there each pipeline stage (screen,
  interview, final_round, offer, hired) is passed with a probability driven by a separate
  latent `fit`; a failure ends in `rejected`. Unsubscribing (rare, more likely when fatigued)
  stops all contact; hires are not contacted again.

The addresses are fictitious but sit on real mail domains (gmail.com, web.de, ...) so that
they look like production data: never point a real SMTP relay at seeded data.
"""

from __future__ import annotations

import math
import random
import re
import zlib
from bisect import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

import phonenumbers
from faker import Faker

from rapport.core.domain import CandidateDraft, Seniority, SkillClaim
from rapport.core.taxonomy import RoleFamily, Taxonomy, TaxonomySkill, ascii_fold, slug

__all__ = ["GROUND_TRUTH_DOC", "SeedEvent", "SeedPerson", "generate_people"]


@dataclass(frozen=True)
class SeedEvent:
    kind: str  # one of domain.TIMELINE_KINDS
    occurred_at: datetime  # tz-aware UTC
    channel: str = ""  # one of domain.CHANNELS
    stage: str = ""  # for stage_changed: one of domain.DEFAULT_POOL_STAGES
    payload: Mapping = field(default_factory=dict)  # treat as read-only


@dataclass(frozen=True)
class SeedPerson:
    draft: CandidateDraft
    created_at: datetime
    events: tuple[SeedEvent, ...]
    truth: Mapping[str, float | str]


# ---------------------------------------------------------------------------------------------
# Ground-truth model parameters. GROUND_TRUTH_DOC is rendered from these, so they cannot drift.
# ---------------------------------------------------------------------------------------------
BASE_LOGIT = -2.3
NOISE_SD = 0.5
SOURCE_EFFECT = {
    "referral": 0.85,
    "careers_site": 0.6,
    "event": 0.3,
    "linkedin": 0.0,
    "github": -0.15,
    "imported_csv": -0.35,
    "agency": -0.6,
}
SENIORITY_EFFECT = {
    "junior": 0.35,
    "mid": 0.0,
    "senior": -0.15,
    "lead": -0.3,
    "principal": -0.6,
    "executive": -0.9,
}
FAMILY_EFFECT = {
    "recruiter-hr": 0.4,
    "sales": 0.3,
    "customer-success": 0.2,
    "nurse": 0.2,
    "marketing": 0.1,
    "data-analyst": 0.1,
    "ux-designer": 0.1,
    "qa": 0.1,
    "operations": 0.1,
    "frontend": 0.0,
    "data-scientist": 0.0,
    "product-manager": 0.0,
    "finance": 0.0,
    "fullstack": -0.1,
    "backend": -0.1,
    "mobile": -0.1,
    "devops": -0.2,
    "data-engineer": -0.2,
    "ml-engineer": -0.3,
    "security": -0.3,
}
CHANNEL_EFFECT = {"email": 0.0, "linkedin": 0.25, "sms": 0.45}
REPLIED_BEFORE_EFFECT = 0.9
FATIGUE_PER_UNANSWERED = 0.18
FATIGUE_CAP = 8
OPEN_SHIFT = 2.0  # logit p_open = logit r + OPEN_SHIFT
CLICK_SHIFT = 0.6  # logit p_click|open = logit r + CLICK_SHIFT
P_MACHINE_OPEN = 0.18
P_BOUNCE = {"imported_csv": 0.06, "agency": 0.03}
P_BOUNCE_DEFAULT = 0.015
P_UNSUB_BASE = 0.004
P_UNSUB_PER_UNANSWERED = 0.003
P_SMS_STOP = 0.02
POSITIVE_INTERCEPT = 0.3  # logit p_positive = 0.3 + 0.6 * (logit r - BASE_LOGIT)
POSITIVE_SLOPE = 0.6
P_APPLY_AFTER_POSITIVE = 0.45
P_INBOUND_APPLY = 0.6  # careers_site people who start with an application
FIT_SD = 0.6
STAGE_PASS = (  # (from, to, base pass probability); failure -> "rejected"
    ("engaged", "screen", 0.70),
    ("screen", "interview", 0.55),
    ("interview", "final_round", 0.45),
    ("final_round", "offer", 0.50),
    ("offer", "hired", 0.75),
)
OFFER_ACCEPT_SENIORITY = {"principal": -0.4, "executive": -0.6}
P_NEVER_CONTACTED = {"imported_csv": 0.3, "agency": 0.2}
P_NEVER_CONTACTED_DEFAULT = 0.1
CAMPAIGN_GAP_DAYS = (30.0, 200.0)  # minimum + exponential mean between campaigns
P_FOLLOW_UP = (0.8, 0.5)  # chance of sending step 2, step 3 after an unanswered step


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def _effects(table: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {_signed(v)}" for k, v in sorted(table.items(), key=lambda kv: -kv[1]))


GROUND_TRUTH_DOC = f"""\
Seeded people are simulated, so the true engagement model is known. Each person gets a latent \
responsiveness r with logit r = {BASE_LOGIT} + source + seniority + role family + N(0, \
{NOISE_SD}). Source effects: {_effects(SOURCE_EFFECT)}. Seniority effects: \
{_effects(SENIORITY_EFFECT)}. Role-family effects: {_effects(FAMILY_EFFECT)}. Each outreach \
touch is replied to with probability sigmoid(logit r + channel + {REPLIED_BEFORE_EFFECT} if \
the person has replied before - {FATIGUE_PER_UNANSWERED} x the number of consecutive \
unanswered touches, capped at {FATIGUE_CAP}); channel effects: {_effects(CHANNEL_EFFECT)}. \
Send time, weekday, timezone and quiet hours have no effect. Human opens follow \
sigmoid(logit r + {OPEN_SHIFT}) (always present before a reply) and clicks follow \
sigmoid(logit r + {CLICK_SHIFT}) given an open; {P_MACHINE_OPEN:.0%} of delivered emails also \
get a machine open seconds after delivery (payload machine=true) that says nothing about the \
person. Emails bounce with probability {P_BOUNCE_DEFAULT:.1%} \
({", ".join(f"{v:.0%} for {k}" for k, v in P_BOUNCE.items())}: stale sources), which ends \
email contact; an unanswered delivered email leads to an unsubscribe with probability \
{P_UNSUB_BASE} + {P_UNSUB_PER_UNANSWERED} x the unanswered streak, and an SMS to a STOP with \
probability {P_SMS_STOP}; either ends all contact. A reply is positive with probability \
sigmoid({POSITIVE_INTERCEPT} + {POSITIVE_SLOPE} x (logit r + {-BASE_LOGIT})); a positive reply \
moves the person to 'engaged' and leads to an application with probability \
{P_APPLY_AFTER_POSITIVE}. Pipeline stages then pass with sigmoid(logit base + fit), fit ~ \
N(0, {FIT_SD}), base pass rates {", ".join(f"{a}->{b} {p:.2f}" for a, b, p in STAGE_PASS)} \
(offer acceptance lower for principals and executives); a failure ends in 'rejected', a hire \
ends all outreach. Outreach comes in campaigns (email: up to 3 steps 3-7 days apart, LinkedIn \
messages: up to 2, logged as email_sent/email_replied with channel linkedin; SMS: 1) that stop \
at the first reply, spaced {CAMPAIGN_GAP_DAYS[0]:.0f} days + Exp(mean \
{CAMPAIGN_GAP_DAYS[1]:.0f}) apart (twice that after a negative reply); some people are never \
contacted. {P_INBOUND_APPLY:.0%} of careers_site people start with their own application, \
reviewed like a positive reply. truth holds each person's latent values and the probabilities \
actually used, including p_reply_next: the chance of replying to the next email after `now`.\
"""

# ---------------------------------------------------------------------------------------------
# Geography: countries weighted toward tech-hiring markets, real cities with IANA zones.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    tz: str
    weight: float = 1.0
    locale: str = ""  # overrides the country's Faker locale
    langs: tuple[str, ...] = ()  # overrides the country's primary languages
    extra: tuple[tuple[str, float], ...] = ()  # extra (language, probability)


@dataclass(frozen=True)
class _Country:
    code: str
    weight: float
    locale: str
    langs: tuple[str, ...]
    english: float  # probability of listing English as an extra language
    cities: tuple[_City, ...]
    domains: tuple[tuple[str, float], ...]  # local consumer mail domains (added to global ones)
    tld: str  # for work addresses
    immigration: float = 0.04  # share of names from another locale
    extra: tuple[tuple[str, float], ...] = ()


def _c(name: str, tz: str, weight: float = 1.0, **kw: object) -> _City:
    return _City(name, tz, weight, **kw)  # type: ignore[arg-type]


NY, CHI, DEN, LA = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
_COUNTRIES = (
    _Country(
        "US",
        24,
        "en_US",
        ("en",),
        0.0,
        (
            _c("New York", NY, 5),
            _c("San Francisco", LA, 4),
            _c("Seattle", LA, 3),
            _c("Austin", CHI, 2.5),
            _c("Boston", NY, 2.5),
            _c("Chicago", CHI, 2.5),
            _c("Los Angeles", LA, 2),
            _c("Washington", NY, 1.5),
            _c("Dallas", CHI, 1.5),
            _c("Denver", DEN, 1.5),
            _c("Atlanta", NY, 1.5),
            _c("Raleigh", NY, 1),
            _c("Miami", NY, 1),
            _c("Phoenix", "America/Phoenix", 1),
            _c("Minneapolis", CHI, 0.8),
            _c("Portland", LA, 0.8),
            _c("Detroit", "America/Detroit", 0.6),
            _c("Salt Lake City", DEN, 0.6),
            _c("Indianapolis", "America/Indiana/Indianapolis", 0.4),
            _c("Honolulu", "Pacific/Honolulu", 0.15),
            _c("Anchorage", "America/Anchorage", 0.1),
        ),
        (("aol.com", 1), ("comcast.net", 1)),
        "com",
        0.18,
        (("es", 0.08), ("fr", 0.02)),
    ),
    _Country(
        "GB",
        10,
        "en_GB",
        ("en",),
        0.0,
        (
            _c("London", "Europe/London", 6),
            _c("Manchester", "Europe/London", 1.5),
            _c("Edinburgh", "Europe/London", 1),
            _c("Bristol", "Europe/London", 1),
            _c("Cambridge", "Europe/London", 0.7),
            _c("Birmingham", "Europe/London", 1),
            _c("Leeds", "Europe/London", 0.8),
            _c("Glasgow", "Europe/London", 0.6),
            _c("Belfast", "Europe/London", 0.4),
        ),
        (("hotmail.co.uk", 3), ("yahoo.co.uk", 3), ("btinternet.com", 2)),
        "co.uk",
        0.15,
        (("fr", 0.06), ("es", 0.04), ("de", 0.03)),
    ),
    _Country(
        "DE",
        8,
        "de_DE",
        ("de",),
        0.8,
        (
            _c("Berlin", "Europe/Berlin", 4),
            _c("Munich", "Europe/Berlin", 2.5),
            _c("Hamburg", "Europe/Berlin", 2),
            _c("Frankfurt", "Europe/Berlin", 1.5),
            _c("Cologne", "Europe/Berlin", 1),
            _c("Stuttgart", "Europe/Berlin", 1),
            _c("Düsseldorf", "Europe/Berlin", 0.8),
            _c("Leipzig", "Europe/Berlin", 0.5),
        ),
        (("web.de", 8), ("gmx.de", 8), ("t-online.de", 3), ("posteo.de", 1)),
        "de",
        0.12,
        (("fr", 0.06), ("es", 0.04)),
    ),
    _Country(
        "IN",
        10,
        "en_IN",
        ("en", "hi"),
        0.0,
        (
            _c("Bengaluru", "Asia/Kolkata", 4, extra=(("kn", 0.4),)),
            _c("Hyderabad", "Asia/Kolkata", 2, extra=(("te", 0.5),)),
            _c("Pune", "Asia/Kolkata", 1.5, extra=(("mr", 0.5),)),
            _c("Chennai", "Asia/Kolkata", 1.5, langs=("en", "ta")),
            _c("Mumbai", "Asia/Kolkata", 1.5, extra=(("mr", 0.4),)),
            _c("Gurugram", "Asia/Kolkata", 1.2),
            _c("Noida", "Asia/Kolkata", 1),
            _c("Kolkata", "Asia/Kolkata", 0.6, extra=(("bn", 0.7),)),
        ),
        (("rediffmail.com", 3), ("yahoo.co.in", 4)),
        "co.in",
    ),
    _Country(
        "NL",
        4,
        "nl_NL",
        ("nl",),
        0.92,
        (
            _c("Amsterdam", "Europe/Amsterdam", 4),
            _c("Rotterdam", "Europe/Amsterdam", 1.5),
            _c("Utrecht", "Europe/Amsterdam", 1.2),
            _c("Eindhoven", "Europe/Amsterdam", 1),
            _c("The Hague", "Europe/Amsterdam", 1),
        ),
        (("ziggo.nl", 2), ("kpnmail.nl", 2), ("hotmail.nl", 2)),
        "nl",
        0.12,
        (("de", 0.25), ("fr", 0.08)),
    ),
    _Country(
        "FR",
        5,
        "fr_FR",
        ("fr",),
        0.7,
        (
            _c("Paris", "Europe/Paris", 5),
            _c("Lyon", "Europe/Paris", 1.2),
            _c("Toulouse", "Europe/Paris", 0.8),
            _c("Nantes", "Europe/Paris", 0.7),
            _c("Bordeaux", "Europe/Paris", 0.6),
            _c("Lille", "Europe/Paris", 0.6),
            _c("Montpellier", "Europe/Paris", 0.4),
        ),
        (("orange.fr", 5), ("free.fr", 3), ("laposte.net", 2), ("sfr.fr", 2)),
        "fr",
        0.06,
        (("es", 0.12), ("de", 0.06)),
    ),
    _Country(
        "ES",
        4,
        "es_ES",
        ("es",),
        0.72,
        (
            _c("Madrid", "Europe/Madrid", 3),
            _c("Barcelona", "Europe/Madrid", 2.5, extra=(("ca", 0.6),)),
            _c("Valencia", "Europe/Madrid", 0.8),
            _c("Málaga", "Europe/Madrid", 0.6),
            _c("Seville", "Europe/Madrid", 0.5),
            _c("Bilbao", "Europe/Madrid", 0.4, extra=(("eu", 0.25),)),
            _c("Las Palmas de Gran Canaria", "Atlantic/Canary", 0.2),
        ),
        (("hotmail.es", 4), ("yahoo.es", 2), ("telefonica.net", 1)),
        "es",
        0.05,
        (("fr", 0.08), ("de", 0.03)),
    ),
    _Country(
        "PL",
        4,
        "pl_PL",
        ("pl",),
        0.85,
        (
            _c("Warsaw", "Europe/Warsaw", 3),
            _c("Kraków", "Europe/Warsaw", 2),
            _c("Wrocław", "Europe/Warsaw", 1.5),
            _c("Gdańsk", "Europe/Warsaw", 1),
            _c("Poznań", "Europe/Warsaw", 0.8),
            _c("Łódź", "Europe/Warsaw", 0.6),
        ),
        (("wp.pl", 6), ("onet.pl", 4), ("o2.pl", 3), ("interia.pl", 3)),
        "pl",
        0.02,
        (("de", 0.12), ("ru", 0.05)),
    ),
    _Country(
        "PT",
        3,
        "pt_PT",
        ("pt-PT",),
        0.85,
        (
            _c("Lisbon", "Europe/Lisbon", 3),
            _c("Porto", "Europe/Lisbon", 1.5),
            _c("Braga", "Europe/Lisbon", 0.5),
            _c("Coimbra", "Europe/Lisbon", 0.4),
            _c("Funchal", "Atlantic/Madeira", 0.15),
        ),
        (("sapo.pt", 4),),
        "pt",
        0.08,
        (("es", 0.3), ("fr", 0.15)),
    ),
    _Country(
        "IE",
        2,
        "en_IE",
        ("en",),
        0.0,
        (
            _c("Dublin", "Europe/Dublin", 4),
            _c("Cork", "Europe/Dublin", 1),
            _c("Galway", "Europe/Dublin", 0.5),
            _c("Limerick", "Europe/Dublin", 0.4),
        ),
        (("eircom.net", 2),),
        "ie",
        0.15,
        (("ga", 0.06), ("fr", 0.06)),
    ),
    _Country(
        "SE",
        2,
        "sv_SE",
        ("sv",),
        0.92,
        (
            _c("Stockholm", "Europe/Stockholm", 4),
            _c("Gothenburg", "Europe/Stockholm", 1.2),
            _c("Malmö", "Europe/Stockholm", 0.8),
            _c("Uppsala", "Europe/Stockholm", 0.4),
        ),
        (("telia.com", 2), ("hotmail.se", 2)),
        "se",
        0.1,
        (("de", 0.08),),
    ),
    _Country(
        "CA",
        5,
        "en_CA",
        ("en",),
        0.0,
        (
            _c("Toronto", "America/Toronto", 4),
            _c("Vancouver", "America/Vancouver", 2),
            _c("Montreal", "America/Toronto", 1.5, locale="fr_CA", langs=("fr-CA", "en")),
            _c("Ottawa", "America/Toronto", 0.7, extra=(("fr", 0.3),)),
            _c("Calgary", "America/Edmonton", 0.7),
            _c("Waterloo", "America/Toronto", 0.5),
            _c("Halifax", "America/Halifax", 0.3),
            _c("Winnipeg", "America/Winnipeg", 0.3),
        ),
        (("rogers.com", 1), ("shaw.ca", 1)),
        "ca",
        0.2,
        (("fr", 0.1),),
    ),
    _Country(
        "BR",
        4,
        "pt_BR",
        ("pt-BR",),
        0.6,
        (
            _c("São Paulo", "America/Sao_Paulo", 4),
            _c("Rio de Janeiro", "America/Sao_Paulo", 1.5),
            _c("Belo Horizonte", "America/Sao_Paulo", 0.8),
            _c("Florianópolis", "America/Sao_Paulo", 0.6),
            _c("Recife", "America/Recife", 0.6),
            _c("Porto Alegre", "America/Sao_Paulo", 0.6),
            _c("Curitiba", "America/Sao_Paulo", 0.6),
            _c("Manaus", "America/Manaus", 0.2),
        ),
        (("uol.com.br", 4), ("bol.com.br", 3), ("hotmail.com", 6)),
        "com.br",
        0.02,
        (("es", 0.25),),
    ),
    _Country(
        "IT",
        2,
        "it_IT",
        ("it",),
        0.65,
        (
            _c("Milan", "Europe/Rome", 3),
            _c("Rome", "Europe/Rome", 2),
            _c("Turin", "Europe/Rome", 0.8),
            _c("Bologna", "Europe/Rome", 0.7),
        ),
        (("libero.it", 6), ("virgilio.it", 2), ("tiscali.it", 1)),
        "it",
        0.05,
        (("fr", 0.12), ("es", 0.08)),
    ),
    _Country(
        "CH",
        1.5,
        "de_CH",
        ("de",),
        0.85,
        (
            _c("Zurich", "Europe/Zurich", 3),
            _c("Basel", "Europe/Zurich", 1),
            _c("Bern", "Europe/Zurich", 0.7),
            _c("Geneva", "Europe/Zurich", 1.2, locale="fr_CH", langs=("fr",)),
            _c("Lausanne", "Europe/Zurich", 0.8, locale="fr_CH", langs=("fr",)),
        ),
        (("bluewin.ch", 5), ("gmx.ch", 2)),
        "ch",
        0.15,
        (("fr", 0.4), ("it", 0.1)),
    ),
    _Country(
        "AT",
        1,
        "de_AT",
        ("de",),
        0.8,
        (
            _c("Vienna", "Europe/Vienna", 3),
            _c("Graz", "Europe/Vienna", 0.7),
            _c("Linz", "Europe/Vienna", 0.5),
        ),
        (("gmx.at", 5), ("aon.at", 2)),
        "at",
        0.12,
    ),
    _Country(
        "DK",
        1,
        "da_DK",
        ("da",),
        0.9,
        (
            _c("Copenhagen", "Europe/Copenhagen", 3),
            _c("Aarhus", "Europe/Copenhagen", 1),
        ),
        (("jubii.dk", 1),),
        "dk",
        0.08,
        (("de", 0.2),),
    ),
    _Country(
        "FI",
        1,
        "fi_FI",
        ("fi",),
        0.9,
        (
            _c("Helsinki", "Europe/Helsinki", 3, extra=(("sv", 0.2),)),
            _c("Espoo", "Europe/Helsinki", 1),
            _c("Tampere", "Europe/Helsinki", 0.8),
        ),
        (("luukku.com", 1),),
        "fi",
        0.04,
        (("sv", 0.2),),
    ),
    _Country(
        "NO",
        1,
        "no_NO",
        ("nb",),
        0.9,
        (
            _c("Oslo", "Europe/Oslo", 3),
            _c("Bergen", "Europe/Oslo", 1),
            _c("Trondheim", "Europe/Oslo", 0.6),
        ),
        (("online.no", 2),),
        "no",
        0.08,
    ),
    _Country(
        "CZ",
        1,
        "cs_CZ",
        ("cs",),
        0.75,
        (
            _c("Prague", "Europe/Prague", 3),
            _c("Brno", "Europe/Prague", 1),
        ),
        (("seznam.cz", 10), ("email.cz", 4), ("centrum.cz", 3)),
        "cz",
        0.03,
        (("de", 0.15), ("sk", 0.1)),
    ),
    _Country(
        "RO",
        1.5,
        "ro_RO",
        ("ro",),
        0.85,
        (
            _c("Bucharest", "Europe/Bucharest", 3),
            _c("Cluj-Napoca", "Europe/Bucharest", 1.5),
            _c("Iași", "Europe/Bucharest", 0.8),
            _c("Timișoara", "Europe/Bucharest", 0.7),
        ),
        (("yahoo.ro", 3),),
        "ro",
        0.02,
        (("fr", 0.15), ("it", 0.08)),
    ),
    _Country(
        "BE",
        1,
        "nl_BE",
        ("nl",),
        0.85,
        (
            _c("Brussels", "Europe/Brussels", 2, locale="fr_BE", langs=("fr", "nl")),
            _c("Antwerp", "Europe/Brussels", 1.2),
            _c("Ghent", "Europe/Brussels", 0.8),
            _c("Leuven", "Europe/Brussels", 0.5),
        ),
        (("telenet.be", 3), ("skynet.be", 2)),
        "be",
        0.1,
        (("fr", 0.5), ("de", 0.1)),
    ),
    _Country(
        "AU",
        2,
        "en_AU",
        ("en",),
        0.0,
        (
            _c("Sydney", "Australia/Sydney", 3),
            _c("Melbourne", "Australia/Melbourne", 2.5),
            _c("Brisbane", "Australia/Brisbane", 1),
            _c("Perth", "Australia/Perth", 0.7),
            _c("Adelaide", "Australia/Adelaide", 0.4),
        ),
        (("bigpond.com", 3), ("optusnet.com.au", 1)),
        "com.au",
        0.2,
    ),
    _Country(
        "MX",
        1.5,
        "es_MX",
        ("es-MX",),
        0.6,
        (
            _c("Mexico City", "America/Mexico_City", 3),
            _c("Guadalajara", "America/Mexico_City", 1.2),
            _c("Monterrey", "America/Monterrey", 1),
            _c("Tijuana", "America/Tijuana", 0.3),
        ),
        (("prodigy.net.mx", 1), ("hotmail.com", 6)),
        "com.mx",
        0.02,
    ),
    _Country(
        "AR",
        1,
        "es_AR",
        ("es-AR",),
        0.65,
        (
            _c("Buenos Aires", "America/Argentina/Buenos_Aires", 3),
            _c("Córdoba", "America/Argentina/Cordoba", 0.8),
            _c("Rosario", "America/Argentina/Cordoba", 0.5),
        ),
        (("fibertel.com.ar", 1), ("hotmail.com", 6)),
        "com.ar",
        0.02,
        (("it", 0.06),),
    ),
)
# Where names come from for people who moved (weights) and the language they bring.
_DIASPORA = (
    ("en_IN", 0.32),
    ("pl_PL", 0.1),
    ("pt_BR", 0.08),
    ("es_MX", 0.1),
    ("ro_RO", 0.06),
    ("it_IT", 0.06),
    ("fr_FR", 0.06),
    ("de_DE", 0.05),
    ("es_ES", 0.06),
    ("en_GB", 0.04),
    ("en_IE", 0.03),
    ("nl_NL", 0.02),
    ("pt_PT", 0.02),
)
_LOCALE_LANGUAGE = {
    "en_IN": "hi",
    "pl_PL": "pl",
    "pt_BR": "pt-BR",
    "es_MX": "es",
    "ro_RO": "ro",
    "it_IT": "it",
    "fr_FR": "fr",
    "de_DE": "de",
    "es_ES": "es",
    "nl_NL": "nl",
    "pt_PT": "pt-PT",
}
_GLOBAL_DOMAINS = (
    ("gmail.com", 45),
    ("outlook.com", 10),
    ("hotmail.com", 5),
    ("yahoo.com", 6),
    ("icloud.com", 5),
    ("proton.me", 3),
)
_COMPANY_SUFFIX_WORDS = (
    "ag gmbh kg co cie ltd limited plc llc inc corp sa s a sl slne sas sarl spa srl bv nv ab "
    "as asa aps a/s oy oyj hb ky sp j z o oo spj sc sa de cv ltda me eireli group groep holding "
    "and und et e y i og kgaa se"
)
_COMPANY_SUFFIXES = frozenset(_COMPANY_SUFFIX_WORDS.split())

# ---------------------------------------------------------------------------------------------
# People: role families, seniority, sources.
# ---------------------------------------------------------------------------------------------
_FAMILY_WEIGHTS = {
    "backend": 12,
    "frontend": 7,
    "fullstack": 8,
    "mobile": 4,
    "devops": 5,
    "data-scientist": 5,
    "ml-engineer": 4,
    "data-engineer": 5,
    "data-analyst": 5,
    "qa": 3,
    "security": 2.5,
    "product-manager": 5,
    "ux-designer": 3.5,
    "sales": 7,
    "marketing": 5,
    "recruiter-hr": 4,
    "finance": 4,
    "customer-success": 4,
    "operations": 3,
    "nurse": 4,
}
_TECH_FAMILIES = frozenset(
    {
        "backend",
        "frontend",
        "fullstack",
        "mobile",
        "devops",
        "data-scientist",
        "ml-engineer",
        "data-engineer",
        "data-analyst",
        "qa",
        "security",
    }
)
_SENIORITY_WEIGHTS = {
    "junior": 0.17,
    "mid": 0.32,
    "senior": 0.28,
    "lead": 0.11,
    "principal": 0.05,
    "executive": 0.07,
}
_SENIORITY_WEIGHTS_BY_FAMILY = {
    "nurse": {
        "junior": 0.22,
        "mid": 0.38,
        "senior": 0.25,
        "lead": 0.09,
        "principal": 0.03,
        "executive": 0.03,
    },
    "sales": {
        "junior": 0.24,
        "mid": 0.33,
        "senior": 0.24,
        "lead": 0.1,
        "principal": 0.03,
        "executive": 0.06,
    },
    "customer-success": {
        "junior": 0.22,
        "mid": 0.36,
        "senior": 0.25,
        "lead": 0.1,
        "principal": 0.02,
        "executive": 0.05,
    },
}
_CAREER_YEARS = {
    "junior": (0.5, 2.5),
    "mid": (2.0, 6.0),
    "senior": (5.0, 11.0),
    "lead": (7.0, 15.0),
    "principal": (10.0, 22.0),
    "executive": (12.0, 28.0),
}
_SKILL_COUNT = {
    "junior": (4, 7),
    "mid": (5, 9),
    "senior": (6, 11),
    "lead": (6, 12),
    "principal": (6, 12),
    "executive": (4, 9),
}
_LEVEL_BASE = {
    "junior": 2.0,
    "mid": 3.0,
    "senior": 3.8,
    "lead": 4.0,
    "principal": 4.4,
    "executive": 3.6,
}
_LEVEL_BUMP = {"core": 0.4, "optional": 0.0, "adjacent": -0.8}
_YEARS_SHARE = {"core": (0.35, 1.0), "optional": (0.15, 0.8), "adjacent": (0.1, 0.5)}
_LEADERSHIP_SKILLS = (
    "leadership",
    "people-management",
    "mentoring",
    "strategic-planning",
    "stakeholder-management",
)
_SOURCE_WEIGHTS = {
    "linkedin": 32,
    "referral": 10,
    "careers_site": 14,
    "event": 6,
    "github": 8,
    "agency": 12,
    "imported_csv": 18,
}
_SOURCE_WEIGHTS_NON_TECH = {**_SOURCE_WEIGHTS, "github": 0}
_SOURCE_WEIGHTS_NURSE = {**_SOURCE_WEIGHTS, "github": 0, "agency": 20, "careers_site": 18}
_GENERAL_TAGS = (
    ("open-to-remote", 10),
    ("relocation", 4),
    ("needs-visa-sponsorship", 3),
    ("silver-medalist", 3),
    ("passive", 8),
    ("actively-looking", 6),
    ("returner", 1.5),
    ("contractor", 3),
    ("part-time", 1.5),
    ("do-not-poach", 0.5),
    ("hiring-freeze-2023", 1),
    ("boomerang", 1),
    ("diversity-event", 1.5),
    ("bootcamp", 1.5),
    ("hot-lead", 2),
)
_FAMILY_TAGS = {
    "backend": ("distributed-systems", "payments", "fintech"),
    "frontend": ("design-systems", "accessibility", "e-commerce"),
    "fullstack": ("startup", "saas", "founding-engineer"),
    "mobile": ("consumer-apps", "ios-only", "android-only"),
    "devops": ("on-call", "platform-team", "kubernetes-certified"),
    "data-scientist": ("phd", "experimentation", "kaggle"),
    "ml-engineer": ("phd", "llm", "publications"),
    "data-engineer": ("streaming", "modern-data-stack", "migration"),
    "data-analyst": ("dashboards", "self-serve", "finance-analytics"),
    "qa": ("istqb", "automation-first", "game-testing"),
    "security": ("oscp", "cissp", "red-team"),
    "product-manager": ("b2b", "b2c", "platform-pm"),
    "ux-designer": ("portfolio-reviewed", "research-heavy", "design-systems"),
    "sales": ("saas-sales", "president-club", "enterprise"),
    "marketing": ("b2b-marketing", "brand", "plg"),
    "recruiter-hr": ("tech-recruiting", "rpo", "employer-branding"),
    "finance": ("acca", "cpa", "big-four"),
    "customer-success": ("enterprise-accounts", "saas", "onboarding"),
    "operations": ("logistics", "six-sigma", "manufacturing"),
    "nurse": ("icu", "night-shifts", "nmc-registered"),
}
_ESCO_VERB_WORDS = (  # first words of ESCO labels phrased as actions
    "perform use execute develop manage create deliver prospect negotiate plan carry identify "
    "achieve design measure conduct follow generate maintain introduce recruit assess hire give "
    "coach mentor lead work track forecast provide administer monitor undertake supervise deal "
    "collect handle guarantee communicate translate apply analyse build ensure define upsell "
    "think adapt triage construct"
)
_ESCO_VERBS = frozenset(_ESCO_VERB_WORDS.split())
_ONE_YEAR = re.compile(r"(?<![\d.])1 (year|yr)s\b")
_OPENERS = ("quick-question", "opportunity", "intro", "role", "catch-up", "referral", "event")


@cache
def _faker_pools(locale: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """(male first, male last, female first, female last) name pools and companies.

    Faker is slow, so each locale draws its pools once, from a fixed per-locale seed, and
    people are then drawn from the pools with the person's own RNG.
    """
    fake = Faker(locale)
    fake.seed_instance(zlib.crc32(locale.encode()))

    def pool(draw: object, k: int) -> tuple[str, ...]:
        drawn = (" ".join(draw().split()) for _ in range(k))  # type: ignore[operator]
        return tuple(dict.fromkeys(x for x in drawn if x))

    names = (
        pool(fake.first_name_male, 300),
        pool(fake.last_name_male, 300),
        pool(fake.first_name_female, 300),
        pool(fake.last_name_female, 300),
    )
    companies = pool(fake.company, 150)
    return names, companies


class _Weighted:
    """Weighted choice over a fixed list via bisect on cumulative weights (fast)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[object, float]]):
        pairs = [(item, w) for item, w in pairs if w > 0]
        self.items = [item for item, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]


class _World:
    """Everything shared across people of one run: lookup tables and uniqueness registries."""

    def __init__(self, taxonomy: Taxonomy):
        self.tax = taxonomy
        self.countries = _Weighted([(c, c.weight) for c in _COUNTRIES])
        self.cities = {
            c.code: _Weighted([(city, city.weight) for city in c.cities]) for c in _COUNTRIES
        }
        self.domains = {
            c.code: _Weighted(list(_GLOBAL_DOMAINS) + list(c.domains)) for c in _COUNTRIES
        }
        self.diaspora = _Weighted(list(_DIASPORA))
        families = {f.id: f for f in taxonomy.role_families}
        self.families = _Weighted(
            [(families[k], w) for k, w in _FAMILY_WEIGHTS.items() if k in families]
            + [(f, 3.0) for k, f in families.items() if k not in _FAMILY_WEIGHTS]
        )
        self.seniority = {
            f: _Weighted(list(_SENIORITY_WEIGHTS_BY_FAMILY.get(f, _SENIORITY_WEIGHTS).items()))
            for f in families
        }
        self.sources = {
            f: _Weighted(
                list(
                    (
                        _SOURCE_WEIGHTS_NURSE
                        if f == "nurse"
                        else _SOURCE_WEIGHTS
                        if f in _TECH_FAMILIES
                        else _SOURCE_WEIGHTS_NON_TECH
                    ).items()
                )
            )
            for f in families
        }
        self.general_tags = _Weighted(list(_GENERAL_TAGS))
        self.in_family = {
            f.id: frozenset(f.core_skills) | frozenset(f.optional_skills) for f in families.values()
        }
        self.email_patterns = _Weighted([(i, w) for i, w in enumerate(_EMAIL_PATTERN_WEIGHTS)])
        self.display: dict[str, str] = {}
        self.zones: dict[str, ZoneInfo] = {}
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.profiles: set[str] = set()
        self.phone_templates: dict[str, tuple[str, int] | None] = {}
        self._title_skills: dict[tuple[str, str], tuple[str, ...]] = {}

    def zone(self, name: str) -> ZoneInfo:
        tz = self.zones.get(name)
        if tz is None:
            tz = self.zones[name] = ZoneInfo(name)
        return tz

    def title_skills(self, family: RoleFamily, title: str) -> tuple[str, ...]:
        """Family skills named by words or word pairs of a title ("iOS", "Machine Learning")."""
        key = (family.id, title)
        found = self._title_skills.get(key)
        if found is None:
            words = title.replace(",", " ").replace("/", " ").split()
            grams = words + [f"{a} {b}" for a, b in pairwise(words)]
            hits = (self.tax.known(g) for g in grams)
            in_family = self.in_family[family.id]
            found = tuple(dict.fromkeys(s.id for s in hits if s is not None and s.id in in_family))
            self._title_skills[key] = found
        return found

    def display_name(self, skill: TaxonomySkill) -> str:
        """How a person would write the skill in a summary ("Python", not the ESCO label)."""
        name = self.display.get(skill.id)
        if name is None:
            name = skill.label
            if "(" in name:  # "Python (computer programming)" -> "Python"
                name = name.split("(", 1)[0].strip()
            elif skill.esco and name.split(" ", 1)[0] in _ESCO_VERBS:
                # ESCO phrasing ("perform data analysis"): prefer the everyday alias, but not a
                # bare abbreviation.
                for alias in skill.aliases:
                    if not (alias.isupper() and len(alias) <= 5):
                        name = alias
                        break
            self.display[skill.id] = name
        return name

    def phone_template(self, region: str) -> tuple[str, int] | None:
        """(fixed national prefix, number of digits to vary) from the region's example mobile."""
        if region not in self.phone_templates:
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
            if example is None:
                self.phone_templates[region] = None
            else:
                national = str(example.national_number)
                vary = min(7, max(3, len(national) - 3))
                self.phone_templates[region] = (national[: len(national) - vary], vary)
        return self.phone_templates[region]


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def generate_people(
    n: int, seed: int, *, now: datetime, taxonomy: Taxonomy | None = None
) -> Iterator[SeedPerson]:
    """Yield `n` synthetic people, deterministic for `(n, seed, now)`; see the module docstring."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    world = _World(taxonomy or Taxonomy.bundled())
    for index in range(n):
        rng = random.Random(f"rapport-seed:{seed}:{index}")
        yield _person(world, rng, index, now)


def _person(world: _World, rng: random.Random, index: int, now: datetime) -> SeedPerson:
    country: _Country = world.countries.pick(rng)
    city: _City = world.cities[country.code].pick(rng)
    home_locale = city.locale or country.locale
    name_locale = home_locale
    if rng.random() < country.immigration:
        candidate = world.diaspora.pick(rng)
        if candidate != home_locale:
            name_locale = candidate
    (male_first, male_last, female_first, female_last), _ = _faker_pools(name_locale)
    _, companies = _faker_pools(home_locale)
    if rng.random() < 0.5:
        first, last = rng.choice(male_first), rng.choice(male_last)
    else:
        first, last = rng.choice(female_first), rng.choice(female_last)

    family: RoleFamily = world.families.pick(rng)
    level: str = world.seniority[family.id].pick(rng)
    titles = family.titles.get(level) or next(iter(family.titles.values()))
    title = rng.choice(titles)
    lo, hi = _CAREER_YEARS[level]
    career = rng.uniform(lo, hi)
    company = rng.choice(companies)
    source: str = world.sources[family.id].pick(rng)

    languages = _languages(rng, country, city, family.id, name_locale, home_locale)
    skills = _skills(world, rng, family, level, title, career)
    headline, summary = _texts(world, rng, family, title, company, career, skills)
    emails = _emails(world, rng, country, first, last, company, career, source, now)
    phones = _phones(world, rng, country.code) if rng.random() < 0.6 else []
    profiles = [_linkedin(world, rng, first, last)] if rng.random() < 0.7 else []
    if family.id in _TECH_FAMILIES and rng.random() < (0.5 if source == "github" else 0.08):
        profiles.append(f"https://github.com/{_handle(rng, first, last)}")
    external_id = f"ats-{index + 1:06d}" if rng.random() < 0.5 else ""
    # "synthetic" marks generated people, so nothing real (outreach mail) is ever sent to them
    tags = ["synthetic", *_tags(world, rng, family.id, source, city)]

    draft = CandidateDraft(
        external_id=external_id,
        first_name=first,
        last_name=last,
        emails=emails,
        phones=phones,
        profile_urls=profiles,
        headline=headline,
        summary=summary,
        current_company=company,
        seniority=Seniority(level),
        city=city.name,
        country=country.code,
        timezone=city.tz,
        languages=languages,
        skills=skills,
        source=source,
        tags=tags,
    )
    # Spread over the last ~3 years, a little denser recently (the database grows).
    age_days = 3 * 365.25 * rng.random() ** 1.15
    created_at = (now - timedelta(days=age_days)).replace(microsecond=0)
    if created_at >= now:
        created_at = now - timedelta(seconds=1)
    events, truth = _simulate(world, rng, draft, family.id, level, source, created_at, now)
    truth.update(
        {
            "role_family": family.id,
            "seniority": level,
            "source": source,
            "country": country.code,
            "career_years": round(career, 2),
        }
    )
    return SeedPerson(draft=draft, created_at=created_at, events=events, truth=truth)


def _languages(
    rng: random.Random,
    country: _Country,
    city: _City,
    family: str,
    name_locale: str,
    home_locale: str,
) -> list[str]:
    langs = list(city.langs or country.langs)
    if "en" not in langs and not any(t.startswith("en-") for t in langs):
        english = country.english * (0.55 if family == "nurse" else 1.0)
        if family in _TECH_FAMILIES:
            english = min(0.97, english + 0.08)
        if rng.random() < english:
            langs.append("en")
    if name_locale != home_locale and rng.random() < 0.7:
        origin = _LOCALE_LANGUAGE.get(name_locale)
        if origin:
            langs.append(origin)
    for tag, p in (*city.extra, *country.extra):
        if rng.random() < p:
            langs.append(tag)
    seen: set[str] = set()
    out = []
    for tag in langs:
        base = tag.split("-")[0]
        if base not in seen:
            seen.add(base)
            out.append(tag)
    return out


def _skills(
    world: _World, rng: random.Random, family: RoleFamily, level: str, title: str, career: float
) -> list[SkillClaim]:
    tax = world.tax
    lo, hi = _SKILL_COUNT[level]
    target = rng.randint(lo, hi)
    core = [s for s in family.core_skills if rng.random() < 0.8]
    if len(core) < min(3, len(family.core_skills)):
        core = list(family.core_skills[: min(3, len(family.core_skills))])
    rng.shuffle(core)
    # A title that names a skill ("Senior Android Engineer") implies it.
    chosen: dict[str, str] = dict.fromkeys(world.title_skills(family, title), "core")
    for sid in core:
        if len(chosen) >= target:
            break
        chosen.setdefault(sid, "core")
    n_adjacent = rng.choice((0, 0, 1, 1, 2))
    optional = [s for s in family.optional_skills if s not in chosen]
    k = min(len(optional), max(0, target - len(chosen) - n_adjacent))
    for sid in rng.sample(optional, k):
        chosen[sid] = "optional"
    # Adjacent: neighbours of the family skills the person has, outside the family lists.
    in_family = world.in_family[family.id]
    pool = sorted({r for sid in chosen for r in tax.related(sid)} - in_family - set(chosen))
    if level in ("lead", "principal", "executive"):
        for sid in _LEADERSHIP_SKILLS:
            if sid in tax and sid not in chosen and rng.random() < 0.3:
                chosen[sid] = "adjacent"
    for sid in rng.sample(pool, min(len(pool), n_adjacent)):
        chosen[sid] = "adjacent"
    if len(chosen) < 4:
        rest = [s for s in optional if s not in chosen]
        for sid in rng.sample(rest, min(len(rest), 4 - len(chosen))):
            chosen[sid] = "optional"
    items = list(chosen.items())[:12]
    base = _LEVEL_BASE[level]
    claims = []
    for sid, kind in items:
        skill = tax.skill(sid)
        bump = _LEVEL_BUMP[kind]
        lvl = int(min(5, max(1, round(base + bump + rng.gauss(0.0, 0.7)))))
        share = _YEARS_SHARE[kind]
        years = max(0.5, round(career * rng.uniform(*share) * 2) / 2)
        claims.append(
            SkillClaim(
                skill_id=skill.id, label=skill.label, level=lvl, years=float(years), source="seed"
            )
        )
    claims.sort(key=lambda c: (-c.level, -c.years))
    return claims


def _texts(
    world: _World,
    rng: random.Random,
    family: RoleFamily,
    title: str,
    company: str,
    career: float,
    skills: list[SkillClaim],
) -> tuple[str, str]:
    names = [world.display_name(world.tax.skill(c.skill_id)) for c in skills]
    s1 = names[0]
    s2 = names[1] if len(names) > 1 else names[0]
    roll = rng.random()
    if roll < 0.75:
        headline = f"{title} at {company}"
    elif roll < 0.87:
        headline = f"{title} | {s1} · {s2}"
    elif roll < 0.97:
        headline = title
    else:
        headline = ""
    summary = ""
    if family.summary_templates and rng.random() < 0.9:
        template = rng.choice(family.summary_templates)
        summary = template.format(years=max(1, int(career)), skill1=s1, skill2=s2, company=company)
        summary = _ONE_YEAR.sub(r"1 \1", summary[0].upper() + summary[1:])
    return headline, summary


def _ascii_name(text: str) -> str:
    return slug(ascii_fold(text)).replace("-", "")


def _emails(
    world: _World,
    rng: random.Random,
    country: _Country,
    first: str,
    last: str,
    company: str,
    career: float,
    source: str,
    now: datetime,
) -> list[str]:
    f = _ascii_name(first.split(" ")[0]) or "x"
    lname = _ascii_name(last) or "x"
    birth_yy = (now.year - int(22 + career + rng.uniform(-1, 4))) % 100
    birth = f"{birth_yy:02d}"
    out: list[str] = []
    work = ""
    roll = rng.random()
    if roll < 0.15 or (source in ("agency", "imported_csv") and roll < 0.25):
        stem = _company_stem(company)
        if stem:
            work = _unique(world.emails, f"{f}.{lname}", f"{stem}.{country.tld}", rng)
    only_work = bool(work) and rng.random() < 0.2
    if not only_work:
        local = _email_local(world.email_patterns.pick(rng), f, lname, birth, rng)
        domain = world.domains[country.code].pick(rng)
        out.append(_unique(world.emails, local, domain, rng))
    if work:
        out.insert(0 if rng.random() < 0.3 else len(out), work)
    if rng.random() < 0.06:
        domain = world.domains[country.code].pick(rng)
        out.append(_unique(world.emails, f"{f}{lname}", domain, rng))
    return out


_EMAIL_PATTERN_WEIGHTS = (30, 14, 5, 12, 9, 4, 5, 6, 6, 9)


def _email_local(pattern: int, f: str, lname: str, birth: str, rng: random.Random) -> str:
    if pattern == 0:
        return f"{f}.{lname}"
    if pattern == 1:
        return f"{f}{lname}"
    if pattern == 2:
        return f"{f}_{lname}"
    if pattern == 3:
        return f"{f[0]}{lname}"
    if pattern == 4:
        return f"{f}.{lname}{rng.randint(1, 99)}"
    if pattern == 5:
        return f"{f}{lname[0]}"
    if pattern == 6:
        return f"{lname}.{f}"
    if pattern == 7:
        return f"{f}{birth}"
    if pattern == 8:
        return f"{f}.{lname}{birth}"
    return f"{f[0]}.{lname}"


def _unique(registry: set[str], local: str, domain: str, rng: random.Random) -> str:
    """`local@domain`, with a numeric suffix added until it is unused in this run."""
    address = f"{local}@{domain}"
    if address in registry:
        n = rng.randint(2, 99)
        while True:
            address = f"{local}{n}@{domain}"
            if address not in registry:
                break
            n += rng.randint(1, 97)
    registry.add(address)
    return address


def _company_stem(company: str) -> str:
    words = [w for w in slug(ascii_fold(company)).split("-") if w and w not in _COMPANY_SUFFIXES]
    return "".join(words[:2])[:24]


def _phones(world: _World, rng: random.Random, region: str) -> list[str]:
    template = world.phone_template(region)
    if template is None:
        return []
    prefix, vary = template
    for _ in range(12):
        national = prefix + str(rng.randrange(10**vary)).zfill(vary)
        e164 = f"+{phonenumbers.country_code_for_region(region)}{national}"
        if e164 in world.phones:
            continue
        number = phonenumbers.parse(e164)
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.region_code_for_number(number) == region
        ):
            world.phones.add(e164)
            return [e164]
    return []


def _linkedin(world: _World, rng: random.Random, first: str, last: str) -> str:
    stem = slug(f"{ascii_fold(first)} {ascii_fold(last)}") or "member"
    while True:
        url = f"https://linkedin.com/in/{stem}-{rng.randrange(10**5, 10**9)}"
        if url not in world.profiles:
            world.profiles.add(url)
            return url


def _handle(rng: random.Random, first: str, last: str) -> str:
    f, lname = _ascii_name(first) or "dev", _ascii_name(last) or "x"
    return rng.choice(
        (f"{f}{lname}", f"{f[0]}{lname}", f"{f}-{lname}", f"{lname}{f[0]}")
    ) + rng.choice(("", "", str(rng.randint(1, 999))))


def _tags(world: _World, rng: random.Random, family: str, source: str, city: _City) -> list[str]:
    tags: list[str] = []
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 2, 3))):
        tag = world.general_tags.pick(rng)
        if tag not in tags:
            tags.append(tag)
    if rng.random() < 0.25:
        tags.append(rng.choice(_FAMILY_TAGS.get(family, ("general",))))
    if source == "event":
        year = rng.choice((2023, 2024, 2025))
        tags.append(f"event-{slug(ascii_fold(city.name))}-{year}")
    if source == "referral":
        tags.append("employee-referral")
    return list(dict.fromkeys(tags))


# ---------------------------------------------------------------------------------------------
# Interaction simulation
# ---------------------------------------------------------------------------------------------
def _business_time(t: datetime, tz: ZoneInfo, rng: random.Random) -> datetime:
    """The first weekday working-hours moment (recipient's local time) after `t`."""
    local = t.astimezone(tz)
    when = local.replace(
        hour=rng.randint(8, 17), minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
    )
    if when <= local:
        when += timedelta(days=1)
    while when.weekday() >= 5:
        when += timedelta(days=1)
    return when.astimezone(UTC)


def _lognormal_seconds(rng: random.Random, median_s: float, sigma: float) -> float:
    return median_s * math.exp(rng.gauss(0.0, sigma))


class _Timeline:
    __slots__ = ("created_at", "events", "now")

    def __init__(self, created_at: datetime, now: datetime):
        self.created_at = created_at
        self.now = now
        self.events: list[tuple[datetime, int, SeedEvent]] = []

    def add(
        self,
        kind: str,
        at: datetime,
        channel: str = "",
        stage: str = "",
        payload: Mapping | None = None,
    ) -> bool:
        """Record the event if it happened by `now`; False when it is still in the future."""
        if at > self.now:
            return False
        if at <= self.created_at:
            at = self.created_at + timedelta(seconds=1)
        self.events.append(
            (at, len(self.events), SeedEvent(kind, at, channel, stage, payload or {}))
        )
        return True


def _simulate(
    world: _World,
    rng: random.Random,
    draft: CandidateDraft,
    family: str,
    level: str,
    source: str,
    created_at: datetime,
    now: datetime,
) -> tuple[tuple[SeedEvent, ...], dict[str, float | str]]:
    tz = world.zone(draft.timezone)
    logit_r = (
        BASE_LOGIT
        + SOURCE_EFFECT.get(source, 0.0)
        + SENIORITY_EFFECT.get(level, 0.0)
        + FAMILY_EFFECT.get(family, 0.0)
        + rng.gauss(0.0, NOISE_SD)
    )
    fit = rng.gauss(0.0, FIT_SD)
    p_open = _sigmoid(logit_r + OPEN_SHIFT)
    p_click = _sigmoid(logit_r + CLICK_SHIFT)
    p_bounce = P_BOUNCE.get(source, P_BOUNCE_DEFAULT)
    p_positive = _sigmoid(POSITIVE_INTERCEPT + POSITIVE_SLOPE * (logit_r - BASE_LOGIT))
    stage_pass = []
    for a, b, p in STAGE_PASS:
        shift = OFFER_ACCEPT_SENIORITY.get(level, 0.0) if b == "hired" else 0.0
        stage_pass.append((a, b, _sigmoid(_logit(p) + fit + shift)))

    tl = _Timeline(created_at, now)
    replied_before = False
    streak = 0  # consecutive unanswered touches
    touches = replies = 0
    used_p_sum = 0.0
    stage = ""
    stopped = False  # unsubscribed or hired
    email_ok = bool(draft.emails)
    has_phone = bool(draft.phones)
    has_linkedin = any("linkedin.com" in u for u in draft.profile_urls)

    def p_reply(channel: str) -> float:
        x = logit_r + CHANNEL_EFFECT[channel] - FATIGUE_PER_UNANSWERED * min(streak, FATIGUE_CAP)
        if replied_before:
            x += REPLIED_BEFORE_EFFECT
        return _sigmoid(x)

    def pipeline(start: datetime, from_stage: str) -> tuple[datetime, str]:
        """Run the stage ladder from `from_stage`; returns (end time, final stage)."""
        at, current = start, from_stage
        for a, b, p in stage_pass:
            if a != current:
                continue
            gap = timedelta(days=rng.uniform(2, 12), seconds=rng.randrange(86400))
            at = _business_time(at + gap, tz, rng)
            nxt = b if rng.random() < p else "rejected"
            if not tl.add("stage_changed", at, "ats", nxt):
                return at, current
            current = nxt
            if nxt == "rejected":
                break
        return at, current

    # Inbound: careers-site people often start with their own application.
    t = created_at
    if source == "careers_site" and rng.random() < P_INBOUND_APPLY:
        applied_at = created_at + timedelta(seconds=rng.randint(5, 900))
        if tl.add("applied", applied_at, "web", payload={"via": "careers_site"}):
            review = _business_time(applied_at + timedelta(hours=rng.uniform(2, 96)), tz, rng)
            if tl.add("stage_changed", review, "ats", "engaged"):
                stage = "engaged"
                t, stage = pipeline(review, "engaged")
                stopped = stage == "hired"
            t += timedelta(days=rng.uniform(20, 120))

    never = P_NEVER_CONTACTED.get(source, P_NEVER_CONTACTED_DEFAULT)
    if rng.random() < never:
        stopped = True
    first_delay = {"referral": 4.0, "careers_site": 6.0, "imported_csv": 90.0}.get(source, 40.0)
    t = t + timedelta(days=rng.expovariate(1.0 / first_delay), hours=rng.uniform(1, 24))

    while not stopped and t <= now:
        w_email = 0.68 if email_ok else 0.0
        w_linkedin = 0.22 if has_linkedin else 0.0
        w_sms = 0.10 if has_phone else 0.0
        total = w_email + w_linkedin + w_sms
        if total == 0.0:
            break
        x = rng.random() * total
        channel = "email" if x < w_email else "linkedin" if x < w_email + w_linkedin else "sms"
        cid = f"c-{rng.getrandbits(32):08x}"
        opener = _OPENERS[int(rng.random() * len(_OPENERS))]
        max_steps = {"email": 3, "linkedin": 2, "sms": 1}[channel]
        send = _business_time(t, tz, rng)
        outcome = ""  # "", "positive", "negative", "unsubscribed", "bounced"
        last_at = send
        for step in range(1, max_steps + 1):
            kind = "sms_sent" if channel == "sms" else "email_sent"
            template = f"t-{channel}-{opener}-{step}"
            if not tl.add(
                kind, send, channel, payload={"campaign": cid, "template": template, "step": step}
            ):
                stopped = True
                break
            if stage in ("", "rejected"):
                tl.add("stage_changed", send + timedelta(seconds=1), "ats", "contacted")
                stage = "contacted"
            touches += 1
            p = p_reply(channel)
            used_p_sum += p
            next_gap = timedelta(days=rng.uniform(3, 7))
            last_at = send
            replied = rng.random() < p
            if channel == "email":
                if rng.random() < p_bounce:
                    tl.add(
                        "email_bounced",
                        send + timedelta(seconds=rng.randint(5, 300)),
                        channel,
                        payload={"campaign": cid},
                    )
                    email_ok = False
                    outcome = "bounced"
                    break
                delivered = send + timedelta(seconds=rng.randint(1, 90))
                tl.add("email_delivered", delivered, channel, payload={"campaign": cid})
                if rng.random() < P_MACHINE_OPEN:
                    tl.add(
                        "email_opened",
                        delivered + timedelta(seconds=rng.randint(1, 30)),
                        channel,
                        payload={"campaign": cid, "machine": True},
                    )
                if replied:
                    delay = min(
                        _lognormal_seconds(rng, 5 * 3600, 1.1), next_gap.total_seconds() * 0.95
                    )
                    reply_at = delivered + timedelta(seconds=max(120.0, delay))
                    open_at = delivered + (reply_at - delivered) * rng.uniform(0.05, 0.9)
                    tl.add("email_opened", open_at, channel, payload={"campaign": cid})
                    if rng.random() < p_click:
                        tl.add(
                            "email_clicked",
                            open_at + (reply_at - open_at) * rng.random(),
                            channel,
                            payload={"campaign": cid},
                        )
                else:
                    unsub = rng.random() < P_UNSUB_BASE + P_UNSUB_PER_UNANSWERED * min(
                        streak, FATIGUE_CAP
                    )
                    if unsub or rng.random() < p_open:
                        open_at = delivered + timedelta(
                            seconds=min(
                                _lognormal_seconds(rng, 3 * 3600, 1.4),
                                next_gap.total_seconds() * 0.9,
                            )
                        )
                        tl.add("email_opened", open_at, channel, payload={"campaign": cid})
                        if not unsub and rng.random() < p_click:
                            tl.add(
                                "email_clicked",
                                open_at + timedelta(seconds=rng.randint(3, 1200)),
                                channel,
                                payload={"campaign": cid},
                            )
                        if unsub:
                            tl.add(
                                "unsubscribed",
                                open_at + timedelta(seconds=rng.randint(5, 600)),
                                channel,
                                payload={"campaign": cid},
                            )
                            outcome = "unsubscribed"
                            break
            else:
                median = 1200.0 if channel == "sms" else 8 * 3600.0
                delay = min(_lognormal_seconds(rng, median, 1.2), next_gap.total_seconds() * 0.95)
                reply_at = send + timedelta(seconds=max(30.0, delay))
                if not replied and channel == "sms" and rng.random() < P_SMS_STOP:
                    tl.add(
                        "unsubscribed",
                        reply_at,
                        channel,
                        payload={"campaign": cid, "keyword": "STOP"},
                    )
                    outcome = "unsubscribed"
                    break
            if replied and reply_at > now:
                stopped = True  # the reply is still in the future: the observed story ends here
                break
            if replied:
                positive = rng.random() < p_positive
                kind = "sms_replied" if channel == "sms" else "email_replied"
                sentiment = "positive" if positive else "negative"
                tl.add(kind, reply_at, channel, payload={"campaign": cid, "sentiment": sentiment})
                replies += 1
                replied_before = True
                streak = 0
                outcome = sentiment
                last_at = reply_at
                break
            streak += 1
            if step >= max_steps or rng.random() >= P_FOLLOW_UP[step - 1]:
                break
            send = _business_time(send + next_gap, tz, rng)
        if stopped:
            break
        if outcome == "unsubscribed":
            stopped = True
            break
        t = last_at
        if outcome == "positive":
            engaged_at = t + timedelta(hours=rng.uniform(1, 48))
            if tl.add("stage_changed", engaged_at, "ats", "engaged"):
                stage = "engaged"
                if rng.random() < P_APPLY_AFTER_POSITIVE:
                    tl.add(
                        "applied",
                        engaged_at + timedelta(hours=rng.uniform(0.5, 36)),
                        "web",
                        payload={"campaign": cid},
                    )
                t, stage = pipeline(engaged_at, "engaged")
                if stage == "hired":
                    stopped = True
                    break
            else:
                break
        lo, mean = CAMPAIGN_GAP_DAYS
        gap = lo + rng.expovariate(1.0 / mean)
        if outcome == "negative":
            gap *= 2.0
        t = t + timedelta(days=gap)

    tl.events.sort(key=lambda e: (e[0], e[1]))
    events = tuple(e for _, _, e in tl.events)
    fresh_email = _sigmoid(logit_r)
    truth: dict[str, float | str] = {
        "responsiveness": round(fresh_email, 6),
        "logit_responsiveness": round(logit_r, 6),
        "p_reply_email": round(fresh_email, 6),
        "p_reply_linkedin": round(_sigmoid(logit_r + CHANNEL_EFFECT["linkedin"]), 6),
        "p_reply_sms": round(_sigmoid(logit_r + CHANNEL_EFFECT["sms"]), 6),
        "p_open": round(p_open, 6),
        "p_click_given_open": round(p_click, 6),
        "p_bounce": p_bounce,
        "p_positive_reply": round(p_positive, 6),
        "p_apply_after_positive": P_APPLY_AFTER_POSITIVE,
        "fit": round(fit, 6),
        "p_offer_accept": round(stage_pass[-1][2], 6),
        "touches": float(touches),
        "replies": float(replies),
        "mean_p_reply_used": round(used_p_sum / touches, 6) if touches else 0.0,
        "p_reply_next": round(p_reply("email"), 6),
        "unanswered_streak": float(streak),
        "replied_before": 1.0 if replied_before else 0.0,
        "unsubscribed": 1.0 if any(e.kind == "unsubscribed" for e in events) else 0.0,
        "final_stage": next((e.stage for e in reversed(events) if e.kind == "stage_changed"), ""),
    }
    return events, truth
