"""Error signatures (workflows/signatures.py): pure, so tests feed strings."""

import pytest

from workflows.signatures import MAX_PATTERN, normalise, pattern, signature


@pytest.mark.parametrize("message, expected", [
    ("Patient 12345 already exists", "Patient <n> already exists"),
    ("timeout after 30.5s (limit 1,000)", "timeout after <n>s (limit <n>)"),
    ("row 123e4567-e89b-12d3-a456-426614174000 missing", "row <uuid> missing"),
    ("row 123E4567E89B12D3A456426614174000 missing", "row <uuid> missing"),
    ("object at 0x7f3a2b1c freed; commit a1b2c3d4e5f6 bad", "object at <hex> freed; commit <hex> bad"),
    ("deadbeef and cafe stay words", "deadbeef and cafe stay words"),
    ("user 'alice' not found in \"team-7\"", "user '…' not found in \"…\""),
    ("at 2024-05-01T10:00:00.123Z and 2024-05-02", "at <time> and <time>"),
    ("mail to bob.smith+x@example.co.uk bounced", "mail to <email> bounced"),
    ("  many \n spaces\there ", "many spaces here"),
    ("GET https://api.example.com/v2/patients/5531/visits?token=abc&page=3#top failed: 503",
     "GET https://api.example.com/v<n>/patients/<n>/visits?<query> failed: <n>"),
    ("POST http://10.0.0.12:8080/hooks/a1b2c3d4e5f6a7b8 refused",
     "POST http://<n>:<n>/hooks/<hex> refused"),
    ("https://ehr.example.com:8443/api/patients/123e4567-e89b-12d3-a456-426614174000",
     "https://ehr.example.com:<n>/api/patients/<uuid>"),
    ("", ""),
])
def test_normalise(message, expected):
    assert normalise(message) == expected


def test_messages_that_differ_only_in_variable_parts_share_a_signature():
    a = [signature(f"Patient {n} already exists (MRN 'A-{n * 3}')") for n in (1, 42, 99999)]
    b = [signature(f"POST https://ehr.example.com/api/patients/{n}?t={n} failed: 503, request id {u}")
         for n, u in ((1, "123e4567-e89b-12d3-a456-426614174000"), (77, "00000000-0000-0000-0000-000000000001"))]
    assert len(set(a)) == 1 and len(set(b)) == 1 and a[0] != b[0]
    assert len(a[0]) == 16 and int(a[0], 16) >= 0
    assert signature("Patient 1 already exists") != signature("Patient 1 was deleted")


def test_the_pattern_shown_is_cut_but_the_signature_covers_all_of_it():
    long = "x" * (MAX_PATTERN + 10)
    assert len(pattern(long)) == MAX_PATTERN and pattern(long).endswith("…")
    assert signature(long + "a") != signature(long + "b")
