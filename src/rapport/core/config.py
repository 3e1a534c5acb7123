"""Settings, read once from RAPPORT_* environment variables (the only place env is read)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "RAPPORT_"


class Settings(BaseSettings):
    """Everything configurable about a Rapport process.

    Unknown keyword arguments and unknown RAPPORT_* variables are rejected, so a typo in a
    deployment fails loudly instead of silently using a default.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    home: Path = Path(".rapport")
    database_url: str = ""  # default: sqlite under home
    mlflow_uri: str = ""  # default: sqlite under home (used by later services)
    server: str = "127.0.0.1:50051"
    api_key: str = ""
    port: int = 50051
    host: str = "[::]"
    services: str = "all"
    max_workers: int = 16
    shutdown_grace_s: float = 10.0
    default_deadline_s: float = 30.0
    log_level: str = "INFO"
    log_json: bool = False
    eval_data: str = ""
    # Import and store limits.
    import_batch_size: int = 1000
    import_workers: int = 1  # processes validating import records beside the writer; 0: none
    max_text_field_chars: int = 20_000
    max_short_field_chars: int = 300
    max_import_record_bytes: int = 1_000_000
    # Matching (DESIGN §6).
    encoder: str = "onnx"  # fake | torch | onnx | onnx-int8
    encoder_threads: int = 0  # 0: every core
    index_dir: Path | None = None  # default: <home>/index
    model_cache_dir: Path | None = None  # default: <home>/models (ONNX exports, embeddings)
    index_ivf_threshold: int = 50_000  # vectors above which a rebuild trains an IVF index
    index_follow_interval_s: float = 0.25
    index_snapshot_interval_s: float = 60.0
    skill_map_threshold: float = 0.0  # 0: the mapper's own default
    match_weight_semantic: float = 0.40
    match_weight_skills: float = 0.40
    match_weight_seniority: float = 0.10
    match_weight_location: float = 0.10
    # Engagement serving (DESIGN §7): which model, how it is cached, how scores stay fresh.
    engagement_alias: str = "champion"  # alias served; only the champion writes bands
    engagement_cache_dir: Path | None = None  # default: <home>/models/engagement
    engagement_poll_interval_s: float = 30.0  # how often the registry is asked for a new champion
    engagement_follow_interval_s: float = 1.0  # change feed -> rescoring of changed people
    engagement_rescore_interval_s: float = 6 * 3600.0  # full rescore: recency features age
    engagement_registry_timeout_s: float = 10.0  # one registry look (HTTP tracking servers)
    engagement_top_factors: int = 5  # factors per score when the request says 0
    engagement_explain_limit: int = 200_000  # factors kept ready for the N likeliest people
    engagement_server: str = ""  # HOST:PORT of EngagementService when not in this process
    # Engagement (DESIGN §7): bands over the calibrated probability of a response within the
    # model's horizon (30 days by default, when about 3% of seeded people respond). On the
    # seeded 1M-event store: hot ~1% of people (5x the base rate), warm ~13%, cold ~40%.
    engagement_band_hot: float = 0.15  # at or above: hot
    engagement_band_warm: float = 0.05  # at or above: warm
    engagement_band_cold: float = 0.015  # at or above: cold; below: dormant
    # OpenMP threads for fitting: 1 by default because on shared cores (a server, CI, other
    # jobs) two spinning threads ran 2x slower than one; 0: every core, for dedicated boxes.
    engagement_train_threads: int = 1
    # Content (DESIGN §8): NextBestContent's eligibility rules and its stochastic policy.
    content_require_consent: bool = True  # only granted / legitimate_interest ("unknown" is not)
    content_quiet_hours: str = "21:00-08:00"  # in the person's own time zone; "" = none
    content_default_timezone: str = "UTC"  # for people without a time zone
    content_cap_per_channel: int = 2  # sends per channel within the cap window; 0 = no cap
    content_cap_window_days: float = 7.0
    content_budget: int = 4  # contacts across every channel and campaign in the budget window
    content_budget_window_days: float = 30.0
    content_default_locale: str = "en"  # assumed for people who list no language
    content_policy: Literal["softmax", "uniform"] = "softmax"  # uniform: pure exploration
    content_temperature: float = 0.1  # softmax over log scores; lower is greedier
    content_exploration: float = 0.05  # share of choices spread uniformly (keeps overlap)
    content_prior_response: float = 0.05  # P(click or reply) without an engagement model
    content_prior_strength: float = 20.0  # pseudo-sends behind each item's response prior
    content_policy_seed: int | None = None  # fixed draws (tests); unset: fresh randomness
    content_machine_open_s: float = 60.0  # an open this soon after delivery is a machine's
    content_refresh_interval_s: float = 5.0  # library and item statistics reloaded this often
    # Outreach (DESIGN §8): where mail goes, whom it is from, how the scheduler paces itself.
    # The host defaults to this machine: tests and benchmarks only ever talk to a local sink.
    outreach_smtp_host: str = "localhost"
    outreach_smtp_port: int = 25
    outreach_smtp_security: Literal["none", "starttls", "tls"] = "none"  # tls: implicit (465)
    outreach_smtp_user: str = ""
    outreach_smtp_password: SecretStr = SecretStr("")
    outreach_smtp_timeout_s: float = 30.0
    outreach_smtp_connections: int = 2  # sending threads, one SMTP connection each
    outreach_from_address: str = "recruiting@localhost"
    outreach_from_name: str = "Rapport"  # a sequence's sender_name overrides it
    outreach_reply_address: str = ""  # e.g. replies@mail.example -> Reply-To replies+<token>@..
    outreach_unsubscribe_address: str = ""  # default: unsubscribe@<the from address's domain>
    # + "/<token>", one-click (RFC 8058): point it at the portal, "<portal_public_url>/unsubscribe"
    outreach_unsubscribe_url: str = "https://localhost/unsubscribe"
    outreach_batch_size: int = 200  # due steps claimed per transaction
    outreach_poll_interval_s: float = 5.0  # `rapport outreach run` between empty passes
    outreach_claim_lease_s: float = 900.0  # a claim older than this is a dead scheduler's
    outreach_max_attempts: int = 5  # SMTP tries (temporary failures) before a send fails
    outreach_retry_base_s: float = 60.0  # first retry delay; doubles per attempt
    outreach_journal_dir: Path | None = None  # default: <home>/outreach (delivery journals)
    outreach_trigger_interval_s: float = 3600.0  # between scans for dormant people
    outreach_inbox_host: str = "127.0.0.1"  # `rapport outreach inbox` listens here
    outreach_inbox_port: int = 2525
    # Analytics (issue 8): report ranges, when a rate is "not enough data", drift and
    # adverse-impact thresholds, and how the send ledger follows the timeline.
    analytics_default_days: int = 365  # a report's range when `since` is not given
    analytics_min_denominator: int = 30  # rates over fewer sends/people: not enough data
    analytics_dormant_days: float = 180.0  # silence before a touch that counts as re-engagement
    analytics_psi_warning: float = 0.2  # population stability index at or above: drift warning
    analytics_psi_bins: int = 10  # quantile bins of the reference per numeric feature
    analytics_model_sample: int = 3_000  # people scored for model monitoring (random sample)
    analytics_impact_threshold: float = 0.8  # impact ratios below: flagged (four-fifths rule)
    analytics_fairness_min_share: float = 0.02  # categories under this share: too small (LL144)
    analytics_fairness_min_count: int = 30  # ... or under this many people
    analytics_refresh_interval_s: float = 30.0  # the ledger follows the timeline; 0: on demand
    analytics_ledger_grace_s: float = 10.0  # PostgreSQL: rows newer than this wait a round
    analytics_ledger_batch: int = 250_000  # timeline pks per ledger transaction
    # Security (DESIGN §9, issue 7): API keys, per-key rate limit, message size, TLS.
    auth_enabled: bool = True  # False only for local development: every call is admin
    auth_cache_ttl_s: float = 5.0  # a valid key is re-checked against the store this often
    auth_rate_limit_per_s: float = 200.0  # sustained calls per second per key; 0: no limit
    auth_rate_limit_burst: int = 400  # calls a key may make at once above the rate
    max_message_bytes: int = 64 * 1024 * 1024  # largest request or response message
    tls_cert_file: Path | None = None  # server certificate chain (PEM): serve TLS when set
    tls_key_file: Path | None = None  # the server certificate's private key (PEM)
    tls_client_ca_file: Path | None = None  # server: require client certs signed by it (mTLS)
    tls_ca_file: Path | None = None  # client: trust this CA and connect with TLS
    tls_client_cert_file: Path | None = None  # client: certificate presented for mTLS
    tls_client_key_file: Path | None = None  # client: its private key
    # Privacy (issue 7): erasure tombstones, retention of idle records.
    privacy_salt: SecretStr = SecretStr("")  # tombstone HMAC key; "": generated, kept in the DB
    # Contact details at rest (issue 7 item 8): AES-256-GCM keys (urlsafe base64 of 32
    # bytes, as `rapport db new-key` prints them), comma-separated, the first seals and all
    # open (rotation: prepend a new key, run `rapport db rotate-keys`, then drop the old
    # one); the lookup key (>= 32 bytes) keys the hashes identities are found by and is
    # never rotated by that command. "": generated once into
    # <home>/secrets/contact-keys.json (mode 0600).
    encryption_keys: SecretStr = SecretStr("")
    lookup_key: SecretStr = SecretStr("")
    retention_idle_months: int = 24  # no activity for this long: anonymised; 0: never
    retention_keep_stages: str = "screen,interview,final_round,offer"  # active process: kept
    retention_interval_s: float = 86_400.0  # scheduled retention run in the privacy service; 0: off
    # Scheduling (issue 9): recruiters' ICS feeds and the invites of booked calls.
    calendar_feed_refresh_s: float = 300.0  # a feed read longer ago is read again when used
    calendar_feed_timeout_s: float = 10.0  # one http(s) read of a feed
    calendar_feed_max_bytes: int = 5_000_000  # larger feeds are refused
    calendar_feed_dir: Path | None = None  # file:// feeds only below it; default <home>/calendars
    calendar_invite_domain: str = ""  # invite UIDs: <booking id>@<it>; default the from domain
    calendar_mail_invites: bool = False  # mail invites over the RAPPORT_OUTREACH_SMTP_* relay
    # ATS two-way sync (issue 9): the adapter and its API, web hooks in and out, retries.
    ats_adapter: Literal["greenhouse"] = "greenhouse"
    ats_base_url: str = ""  # e.g. https://harvest.greenhouse.io; "": no ATS, the worker idles
    ats_api_key: SecretStr = SecretStr("")  # Harvest: the Basic auth user name
    ats_on_behalf_of: str = ""  # Harvest: the ATS user id that writes are attributed to
    ats_webhook_secret: SecretStr = SecretStr("")  # signs web hooks from the ATS
    ats_generic_webhook_secret: SecretStr = SecretStr("")  # signs /hooks/ats/generic
    ats_webhook_tolerance_s: float = 300.0  # generic web hooks older or newer: refused
    ats_webhooks_host: str = "127.0.0.1"  # `rapport ats webhooks` listens here
    ats_webhooks_port: int = 8088
    ats_nurture_pool: str = "Nurture"  # rejected applicants go back here (created if missing)
    ats_request_timeout_s: float = 10.0
    ats_max_attempts: int = 6  # deliveries tried before a submission or hook is "failed"
    ats_retry_base_s: float = 2.0  # first retry delay; doubles per attempt, with jitter
    ats_retry_max_s: float = 600.0  # longest delay between two attempts
    ats_poll_interval_s: float = 5.0  # the worker looks for due deliveries this often
    ats_webhook_out_url: str = ""  # CRM events are POSTed here, signed; "": none sent
    ats_webhook_out_secret: SecretStr = SecretStr("")
    # Candidate portal (issue 9): `rapport portal`, its sign-in links, session and limits.
    portal_api_key: str = ""  # the portal process's key (`rapport keys create --role portal`)
    portal_host: str = "127.0.0.1"
    portal_port: int = 8080
    # The portal's address as candidates reach it: sign-in links point here (never at the
    # Host header a request claims, which anyone can forge).
    portal_public_url: str = "http://localhost:8080"
    portal_session_secret: SecretStr = SecretStr("")  # signs session cookies; "": per process
    portal_session_idle_s: int = 1800  # a session unused this long is signed out
    portal_secure_cookies: bool = False  # True behind HTTPS: cookies get the Secure flag
    portal_sign_in_link_minutes: int = 15  # a mailed sign-in link works this long, once
    portal_sign_in_open_links: int = 5  # unexpired links per person; more asks mail nothing
    portal_sign_in_ip_per_hour: float = 30.0  # sign-in requests per client address
    portal_sign_in_email_per_hour: float = 5.0  # sign-in requests per email address
    portal_posts_per_minute: float = 60.0  # form posts per session (burst: as many)
    portal_max_upload_bytes: int = 5 * 1024 * 1024  # largest resume accepted

    @model_validator(mode="after")
    def _reject_unknown_env(self) -> Settings:
        known = {ENV_PREFIX + name.upper() for name in type(self).model_fields}
        unknown = sorted(k for k in os.environ if k.startswith(ENV_PREFIX) and k not in known)
        if unknown:
            raise ValueError(f"unknown settings in the environment: {', '.join(unknown)}")
        return self

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'rapport.db').resolve()}"

    @cached_property
    def effective_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.home / "index"

    @cached_property
    def models_dir(self) -> Path:
        """Where derived model artefacts (ONNX exports, label embeddings) are cached."""
        return self.model_cache_dir if self.model_cache_dir is not None else self.home / "models"

    @cached_property
    def engagement_cache(self) -> Path:
        """Where served engagement model versions are kept: one directory per version and
        a pointer to the last champion, so a restart serves it without the registry."""
        if self.engagement_cache_dir is not None:
            return self.engagement_cache_dir
        return self.home / "models" / "engagement"

    @cached_property
    def outreach_journal(self) -> Path:
        """Where the scheduler keeps its delivery journals (one per running scheduler)."""
        if self.outreach_journal_dir is not None:
            return self.outreach_journal_dir
        return self.home / "outreach"

    @cached_property
    def calendar_feeds(self) -> Path:
        """The only directory file:// calendar feeds may be read from."""
        if self.calendar_feed_dir is not None:
            return self.calendar_feed_dir
        return self.home / "calendars"

    @cached_property
    def effective_mlflow_uri(self) -> str:
        if self.mlflow_uri:
            return self.mlflow_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
