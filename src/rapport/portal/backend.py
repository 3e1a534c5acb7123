"""The gRPC calls the portal makes, with the portal's own API key, each about exactly the
candidate id the caller passes (the web layer only ever passes its session's).

Calls are blocking; the web layer runs them in a worker thread. Errors stay grpc.RpcErrors:
the web layer turns them into pages.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf import field_mask_pb2

from rapport.v1 import (
    candidates_pb2,
    candidates_pb2_grpc,
    common_pb2,
    content_pb2,
    content_pb2_grpc,
    matching_pb2,
    matching_pb2_grpc,
    outreach_pb2,
    outreach_pb2_grpc,
    portal_pb2,
    portal_pb2_grpc,
    privacy_pb2,
    privacy_pb2_grpc,
    scheduling_pb2,
    scheduling_pb2_grpc,
)

CALL_TIMEOUT_S = 15.0
SLOW_CALL_TIMEOUT_S = 120.0  # an export or an erasure touches a person's whole history
PROFILE_FIELDS = ("first_name", "last_name", "headline", "summary", "location", "languages")
CHANNELS = ("email", "sms", "phone", "linkedin")
SOURCE = "portal"
TIMING = frozenset(
    {
        content_pb2.NO_SEND_REASON_QUIET_HOURS,
        content_pb2.NO_SEND_REASON_FREQUENCY_CAP,
        content_pb2.NO_SEND_REASON_CONTACT_BUDGET,
    }
)


class Backend:
    def __init__(self, channel: grpc.Channel) -> None:
        self._signin = portal_pb2_grpc.CandidatePortalServiceStub(channel)
        self._candidates = candidates_pb2_grpc.CandidateServiceStub(channel)
        self._matching = matching_pb2_grpc.MatchingServiceStub(channel)
        self._content = content_pb2_grpc.ContentServiceStub(channel)
        self._outreach = outreach_pb2_grpc.OutreachServiceStub(channel)
        self._privacy = privacy_pb2_grpc.PrivacyServiceStub(channel)
        self._scheduling = scheduling_pb2_grpc.SchedulingServiceStub(channel)

    # ------------------------------------------------------------------ sign-in
    def request_link(self, email: str, link_base_url: str) -> int:
        request = portal_pb2.RequestSignInLinkRequest(email=email, link_base_url=link_base_url)
        return self._signin.RequestSignInLink(request, timeout=CALL_TIMEOUT_S).valid_minutes

    def redeem(self, token: str) -> str:
        request = portal_pb2.RedeemSignInLinkRequest(token=token)
        return self._signin.RedeemSignInLink(request, timeout=CALL_TIMEOUT_S).candidate_id

    # ------------------------------------------------------------------ profile
    def candidate(self, candidate_id: str) -> candidates_pb2.Candidate:
        request = candidates_pb2.GetCandidateRequest(id=candidate_id)
        return self._candidates.GetCandidate(request, timeout=CALL_TIMEOUT_S)

    def update_profile(
        self, candidate_id: str, version: int, fields: dict
    ) -> candidates_pb2.Candidate:
        """Names, headline, summary, location and languages; ABORTED when `version` is stale."""
        candidate = candidates_pb2.Candidate(
            id=candidate_id,
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            headline=fields["headline"],
            summary=fields["summary"],
            location=common_pb2.Location(
                city=fields["city"], country=fields["country"], timezone=fields["timezone"]
            ),
            languages=fields["languages"],
        )
        return self._update(candidate, PROFILE_FIELDS, version)

    def set_skills(
        self, candidate_id: str, version: int, skills: list[common_pb2.Skill]
    ) -> candidates_pb2.Candidate:
        """Replaces the skills; each label is mapped to the canonical skill it names by the
        candidate service (level, years, source and evidence are kept as given)."""
        candidate = candidates_pb2.Candidate(id=candidate_id, skills=skills)
        return self._update(candidate, ("skills",), version)

    def _update(self, candidate, paths, version: int) -> candidates_pb2.Candidate:
        request = candidates_pb2.UpdateCandidateRequest(
            candidate=candidate,
            update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
            expected_version=version,
        )
        return self._candidates.UpdateCandidate(request, timeout=CALL_TIMEOUT_S)

    def extract_skills(self, text: str, limit: int = 40) -> list[matching_pb2.SkillMapping]:
        request = matching_pb2.ExtractSkillsRequest(text=text, limit=limit)
        return list(self._matching.ExtractSkills(request, timeout=CALL_TIMEOUT_S).skills)

    # ------------------------------------------------------------------ preferences
    def consent(self, candidate_id: str) -> privacy_pb2.Consent:
        request = privacy_pb2.GetConsentRequest(candidate_id=candidate_id)
        return self._privacy.GetConsent(request, timeout=CALL_TIMEOUT_S)

    def set_preferences(
        self, candidate_id: str, state: str, allowed: dict[str, bool], topics: list[str]
    ) -> privacy_pb2.Consent:
        request = privacy_pb2.SetConsentRequest(
            candidate_id=candidate_id,
            state=state,
            basis="consent" if state == "granted" else "",
            source=SOURCE,
            preferences=[
                privacy_pb2.ChannelPreference(
                    channel=channel, allowed=allowed[channel], topics=topics, source=SOURCE
                )
                for channel in CHANNELS
            ],
        )
        return self._privacy.SetConsent(request, timeout=CALL_TIMEOUT_S)

    def unsubscribe_all(self, candidate_id: str) -> privacy_pb2.Consent:
        request = privacy_pb2.SetConsentRequest(
            candidate_id=candidate_id, state="opted_out", source=SOURCE
        )
        return self._privacy.SetConsent(request, timeout=CALL_TIMEOUT_S)

    def one_click_unsubscribe(self, token: str) -> outreach_pb2.UnsubscribeResponse:
        request = outreach_pb2.UnsubscribeRequest(token=token)
        return self._outreach.Unsubscribe(request, timeout=CALL_TIMEOUT_S)

    # ------------------------------------------------------------------ content
    def recommended(self, candidate_id: str) -> content_pb2.NextBestContentResponse:
        """What the library would offer this person next, as a preview: a dry run logs no
        decision, so looking at the page is not a send. When only timing stands in the way
        (quiet hours, a frequency cap), the answer is the item due at `not_before`."""
        request = content_pb2.NextBestContentRequest(candidate_id=candidate_id, dry_run=True)
        answer = self._content.NextBestContent(request, timeout=CALL_TIMEOUT_S)
        if not answer.send and answer.no_send in TIMING and answer.HasField("not_before"):
            request.context.send_at.CopyFrom(answer.not_before)
            answer = self._content.NextBestContent(request, timeout=CALL_TIMEOUT_S)
        return answer

    # ------------------------------------------------------------------ my data
    def export(self, candidate_id: str) -> bytes:
        request = privacy_pb2.ExportCandidateRequest(candidate_id=candidate_id)
        return self._privacy.ExportCandidate(request, timeout=SLOW_CALL_TIMEOUT_S).document

    def erase(self, candidate_id: str) -> None:
        request = privacy_pb2.EraseCandidateRequest(
            candidate_id=candidate_id, reason="requested by the candidate in the portal"
        )
        self._privacy.EraseCandidate(request, timeout=SLOW_CALL_TIMEOUT_S)

    # ------------------------------------------------------------------ scheduling
    def calendars(self) -> list[scheduling_pb2.Calendar]:
        request = scheduling_pb2.ListCalendarsRequest()
        return list(self._scheduling.ListCalendars(request, timeout=CALL_TIMEOUT_S).calendars)

    def slots(self, calendar_id: str, candidate_id: str) -> scheduling_pb2.ListSlotsResponse:
        """Free slots labelled in the candidate's own timezone (the service's default)."""
        request = scheduling_pb2.ListSlotsRequest(
            calendar_id=calendar_id, candidate_id=candidate_id
        )
        return self._scheduling.ListSlots(request, timeout=CALL_TIMEOUT_S)

    def book(
        self, calendar_id: str, candidate_id: str, start: datetime, timezone: str, note: str
    ) -> scheduling_pb2.Booking:
        request = scheduling_pb2.BookSlotRequest(
            calendar_id=calendar_id,
            candidate_id=candidate_id,
            timezone=timezone,
            note=note,
        )
        request.start.FromDatetime(start.astimezone(UTC))
        return self._scheduling.BookSlot(request, timeout=CALL_TIMEOUT_S)

    def bookings(self, candidate_id: str) -> list[scheduling_pb2.Booking]:
        request = scheduling_pb2.ListBookingsRequest(candidate_id=candidate_id)
        return list(self._scheduling.ListBookings(request, timeout=CALL_TIMEOUT_S).bookings)


__all__ = ["CHANNELS", "Backend"]
