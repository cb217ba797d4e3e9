"""Real sign-in: access tokens from a local ID-porten/HelseID-shaped provider, verified by the backend; every forged
or unfit token is a 401/403 OperationOutcome and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import KARI, bearer
from tests.fhir_validate import answer, booking_request, fhir_json, free_slots, outcome, snapshot, timebook
from tests.oidc_helpers import b64, payload, sign_in
from timebok.backend import schema
from timebok.backend.app import create_app
from timebok.backend.oidc import SUPPORT_SCOPE, Verifier
from timebok.backend.server import open_database
from timebok.devidp.server import ProviderServer

AUDIENCE = "timebok"


@pytest.fixture(scope="module")
def idp() -> Iterator[ProviderServer]:
    server = ProviderServer(0, audience=AUDIENCE).start()
    yield server
    server.stop()


def verifier_for(idp: ProviderServer) -> Verifier:
    return Verifier({"citizen": idp.issuer("idporten"), "staff": idp.issuer("helseid")}, AUDIENCE).start()


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver/fhir")


@pytest.fixture
def verifier(idp) -> Verifier:
    return verifier_for(idp)


@pytest.fixture
async def real(database, verifier) -> AsyncIterator[httpx.AsyncClient]:
    """A backend that is not a demo: it takes only tokens from the local provider."""
    async with await _client(create_app(database, demo=False, oidc=verifier)) as client:
        yield client


def _identity_number(database, patient_id: int) -> str:
    with database.reading() as session:
        return session.get(schema.Patient, patient_id).identifier


def _orgnr(database, office_id: int) -> str:
    with database.reading() as session:
        return session.get(schema.Organization, office_id).orgnr


def citizen_token(idp, database, patient_id: int = 1, acr: str = "idporten-loa-substantial", alg: str = "RS256") -> str:
    return sign_in(idp.issuer("idporten"), {"pid": _identity_number(database, patient_id), "acr": acr, "alg": alg})[
        "access_token"
    ]


def staff_token(idp, database, office_id: int = 1, level: str = "4", scope: str = "openid", alg: str = "RS256") -> str:
    identity = {
        "name": "Helsesekretær Hansen",
        "hpr_number": "565501872",
        "orgnr": _orgnr(database, office_id),
        "security_level": level,
        "alg": alg,
    }
    return sign_in(idp.issuer("helseid"), identity, scope=scope)["access_token"]


def support_token(idp, level: str = "4") -> str:
    identity = {"name": "Kundesenter Kari", "hpr_number": "", "orgnr": "", "security_level": level}
    identity["hpr_number"] = "100200300"
    return sign_in(idp.issuer("helseid"), identity, scope=f"openid {SUPPORT_SCOPE}")["access_token"]


async def test_a_citizen_signed_in_with_id_porten_books_and_staff_signed_in_with_helseid_confirm(real, idp, database):
    kari = citizen_token(idp, database)
    me = (await real.get("http://testserver/auth/userinfo", headers=bearer(kari))).json()
    assert me == {
        "role": "citizen",
        "name": "Kari Nordmann",
        "patient": "Patient/1",
        "organization": None,
        "agent": None,
        "read_only": False,
        "writing_until": None,
    }
    book = await timebook(real, kari, 1, "Lab")
    slot = (await free_slots(real, kari, book, "2026-12-03", count=1))[0]
    created = fhir_json(
        await real.post("/Appointment", json=booking_request(slot["id"], 1, "influensavaksine"), headers=bearer(kari)), 201
    )
    assert created["status"] == "pending"

    office = staff_token(idp, database, 1, alg="ES256")  # ES256 as well as RS256
    who = (await real.get("http://testserver/auth/userinfo", headers=bearer(office))).json()
    assert (who["role"], who["organization"], who["name"]) == ("staff", "Organization/1", "Helsesekretær Hansen")
    fhir_json(await real.post("/AppointmentResponse", json=answer(created["id"], "accepted"), headers=bearer(office)), 201)
    assert fhir_json(await real.get(f"/Appointment/{created['id']}", headers=bearer(kari)))["status"] == "booked"

    with database.reading() as session:  # the audit log names the token's subject and issuer, never the token
        actors = session.scalars(select(schema.AuditEvent.actor)).all()
    assert actors and all(f"iss={idp.issuer('helseid')}" in a and "sub=" in a for a in actors)
    assert not any(office in a or office[:40] in a for a in actors)


async def test_a_support_agent_from_helseid_acts_as_a_citizen_from_id_porten(real, idp, database):
    kari, agent = citizen_token(idp, database), support_token(idp)
    headers = bearer(kari) | {"X-Support-Agent": agent}
    me = (await real.get("http://testserver/auth/userinfo", headers=headers)).json()
    assert me["role"] == "citizen" and me["patient"] == "Patient/1" and me["agent"] == "Kundesenter Kari"
    fhir_json(await real.get("/Patient/1", headers=headers))
    with database.reading() as session:
        actors = set(session.scalars(select(schema.AuditEvent.actor)).all())
    assert len(actors) == 1 and actors.pop().startswith("support:Kundesenter Kari [sub=")
    # The agent alone sees nothing of any patient; a citizen's token is no agent's.
    assert (await real.get("/Patient/1", headers=bearer(agent))).status_code == 404
    other = citizen_token(idp, database, 2)
    outcome(await real.get("/Patient/1", headers=bearer(kari) | {"X-Support-Agent": other}), 401, "login")


async def test_a_helseid_support_agent_is_read_only_as_the_citizen_until_skriv_som(real, idp, database):
    kari, agent = citizen_token(idp, database), support_token(idp)
    headers = bearer(kari) | {"X-Support-Agent": agent}
    slot = (await free_slots(real, kari, await timebook(real, kari, 1, "Lab"), "2026-12-03", count=1))[0]
    before = snapshot(database)
    refused = await real.post("/Appointment", json=booking_request(slot["id"], 1), headers=headers)
    outcome(refused, 403, "forbidden")
    assert refused.json()["issue"][0]["details"]["coding"][0]["code"] == "read-only"
    assert snapshot(database) == before
    assert (
        await real.post("http://testserver/auth/support-write", json={"reason": "Sak 77: test"}, headers=headers)
    ).status_code == 201
    assert (await real.post("/Appointment", json=booking_request(slot["id"], 1), headers=headers)).status_code == 201
    with database.reading() as session:
        granted = session.scalars(select(schema.AuditEvent.actor).where(schema.AuditEvent.action == "support-write")).all()
    assert len(granted) == 1 and granted[0].startswith("support:Kundesenter Kari [sub=")


async def test_a_static_token_is_refused_unless_the_instance_is_a_demo(real, database, verifier, idp):
    before = snapshot(database)
    says = outcome(await real.get("/Patient/1", headers=bearer(KARI)), 401, "login")
    assert "OpenID Connect" in says
    slot_body = booking_request(3000, 1)
    outcome(await real.post("/Appointment", json=slot_body, headers=bearer(KARI)), 401, "login")
    assert snapshot(database) == before
    # A demo that also trusts the provider (a test environment) takes both kinds.
    async with await _client(create_app(database, demo=True, oidc=verifier)) as both:
        assert (await both.get("http://testserver/auth/userinfo", headers=bearer(KARI))).json()["name"] == "Kari Nordmann"
        jwt_user = (await both.get("http://testserver/auth/userinfo", headers=bearer(citizen_token(idp, database, 2)))).json()
        assert jwt_user["patient"] == "Patient/2"


def _resign(idp, realm: str, token: str, **changes) -> str:
    """A variant of a real token, signed with the provider's own current key (what a buggy or hostile issuer could send)."""
    claims = payload(token) | changes
    claims.pop("iss")
    return idp.provider.realms[realm].sign(idp.issuer(realm), claims)


def _forgeries(idp, database) -> dict[str, tuple[str, int]]:
    kari = citizen_token(idp, database)
    claims = payload(kari)
    rs = idp.provider.realms["idporten"].key_for("RS256")
    header = json.loads(base64.urlsafe_b64decode(kari.split(".")[0] + "=="))
    public_pem = rs.as_pem(private=False)
    hs_header = b64({"alg": "HS256", "kid": header["kid"], "typ": "JWT"})
    body = b64(claims)
    hs_sig = b64(hmac.new(public_pem, f"{hs_header}.{body}".encode(), hashlib.sha256).digest())
    head, _body, sig = kari.split(".")
    from timebok.devidp.provider import Realm

    stranger = Realm("idporten", AUDIENCE)  # key material of a provider nobody trusts, never served
    unsigned = {k: v for k, v in claims.items() if k != "iss"}
    return {
        "expired": (
            _resign(idp, "idporten", kari, exp=claims["iat"] - 120, nbf=claims["iat"] - 400, iat=claims["iat"] - 400),
            401,
        ),
        "not yet valid": (_resign(idp, "idporten", kari, nbf=claims["iat"] + 600), 401),
        "issued in the future": (_resign(idp, "idporten", kari, iat=claims["iat"] + 600, nbf=claims["iat"]), 401),
        "wrong audience": (_resign(idp, "idporten", kari, aud="another-service"), 401),
        "wrong issuer": (stranger.sign("https://idporten.example", unsigned), 401),
        "another trusted issuer's name": (idp.provider.realms["idporten"].sign(idp.issuer("helseid"), unsigned), 401),
        "alg none": (f"{b64({'alg': 'none', 'kid': header['kid']})}.{body}.", 401),
        "HS256 with the public key as secret": (f"{hs_header}.{body}.{hs_sig}", 401),
        "tampered payload": (f"{head}.{b64(claims | {'pid': _identity_number(database, 2)})}.{sig}", 401),
        "unknown kid": (stranger.sign(idp.issuer("idporten"), unsigned), 401),
        "low assurance": (citizen_token(idp, database, acr="idporten-loa-low"), 403),
        "unknown person": (_resign(idp, "idporten", kari, pid="01010112345"), 403),
    }


async def test_forged_or_unfit_tokens_are_refused_and_change_nothing(real, idp, database):
    before = snapshot(database)
    slot = (
        await free_slots(
            real,
            citizen_token(idp, database),
            await timebook(real, citizen_token(idp, database), 1, "Lab"),
            "2026-12-03",
            count=1,
        )
    )[0]
    with database.reading() as session:
        patients = session.query(schema.Patient).count()
    for name, (token, status) in _forgeries(idp, database).items():
        response = await real.post("/Appointment", json=booking_request(slot["id"], 1), headers=bearer(token))
        diagnostics = outcome(response, status, "login" if status == 401 else "forbidden")
        assert token not in response.text, name
        if name == "unknown person":
            assert "not a patient known" in diagnostics and "01010112345" not in response.text
    assert snapshot(database) == before
    with database.reading() as session:
        assert session.query(schema.Patient).count() == patients  # nobody was created


async def test_a_citizen_token_used_as_staff_or_a_low_helseid_level_is_refused(real, idp, database):
    before = snapshot(database)
    kari = citizen_token(idp, database)
    outcome(await real.post("/AppointmentResponse", json=answer(2, "accepted"), headers=bearer(kari)), 403, "forbidden")
    outcome(await real.post("/Patient/_search", data={"name": "Kari"}, headers=bearer(kari)), 403, "forbidden")
    says = outcome(
        await real.post(
            "/AppointmentResponse", json=answer(2, "accepted"), headers=bearer(staff_token(idp, database, level="3"))
        ),
        403,
        "forbidden",
    )
    assert "security level" in says
    unknown_office = _resign(
        idp, "helseid", staff_token(idp, database), **{"helseid://claims/client/claims/orgnr_child": "974760673"}
    )
    outcome(await real.post("/AppointmentResponse", json=answer(2, "accepted"), headers=bearer(unknown_office)), 403, "forbidden")
    assert snapshot(database) == before


async def test_a_rotated_key_is_fetched_once_and_the_old_tokens_still_verify(real, idp, database, verifier, monkeypatch):
    from timebok.backend import oidc

    monkeypatch.setattr(oidc, "REFETCH_COOLDOWN", 0.0)
    old = citizen_token(idp, database)
    idp.provider.rotate("idporten")
    new = citizen_token(idp, database)
    assert payload(new)["jti"] != payload(old)["jti"]
    for token in (new, old):  # the new kid is fetched; the old key is still published
        assert (await real.get("http://testserver/auth/userinfo", headers=bearer(token))).status_code == 200


async def test_health_says_when_an_issuer_is_gone_and_tokens_still_verify_on_cached_keys(database):
    server = ProviderServer(0, audience=AUDIENCE).start()
    verifier = verifier_for(server)
    verifier.recheck_after = 0.0
    kari = citizen_token(server, database)
    async with await _client(create_app(database, demo=False, oidc=verifier)) as real:
        health = (await real.get("http://testserver/health")).json()
        assert health["issuers"] == {"citizen": "answers", "staff": "answers"}
        server.stop()
        health = (await real.get("http://testserver/health")).json()
        assert health["status"] == "ok"
        assert "serving on cached keys" in health["issuers"]["citizen"]
        assert (await real.get("http://testserver/auth/userinfo", headers=bearer(kari))).json()["patient"] == "Patient/1"


async def test_refused_tokens_on_postgresql_change_nothing(pg_database, idp):
    database = open_database(pg_database, demo=True)
    try:
        verifier = verifier_for(idp)
        async with await _client(create_app(database, demo=False, oidc=verifier)) as real:
            before = snapshot(database)
            forged = _forgeries(idp, database)
            for name in ("expired", "HS256 with the public key as secret", "unknown person"):
                token, status = forged[name]
                outcome(await real.post("/Appointment", json=booking_request(3000, 1), headers=bearer(token)), status)
            assert snapshot(database) == before
            kari = citizen_token(idp, database)
            assert (await real.get("http://testserver/auth/userinfo", headers=bearer(kari))).json()["patient"] == "Patient/1"
    finally:
        database.dispose()


def _serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "timebok.tui.cli", "serve", "--db", ":memory:", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_serve_with_an_unreachable_issuer_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "timebok.tui.cli",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--port",
            "0",
            "--oidc-issuer",
            f"citizen=http://127.0.0.1:{port}/idporten",
            "--oidc-audience",
            AUDIENCE,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("timebok serve: cannot read the discovery document of http://127.0.0.1:")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("issuer", "says"),
    [
        ("citizen=http://idporten.example", "must be https"),
        ("doctor=https://helseid.example", "ROLE one of citizen, staff, support"),
    ],
)
def test_serve_refuses_a_plain_http_issuer_or_an_unknown_role(tmp_path, issuer, says):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "timebok.tui.cli",
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--port",
            "0",
            "--oidc-issuer",
            issuer,
            "--oidc-audience",
            AUDIENCE,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr


def test_a_served_instance_with_workers_takes_provider_tokens_and_no_static_ones(db_path, tmp_path, idp):
    """`timebok serve` as an operator starts it (no --demo, two workers): each worker verifies the provider's tokens."""
    from tests.serve_process import ServeProcess

    database = open_database(db_path, demo=False)
    kari = citizen_token(idp, database)
    database.dispose()
    extra = (
        "--workers",
        "2",
        "--oidc-issuer",
        f"citizen={idp.issuer('idporten')}",
        "--oidc-issuer",
        f"staff={idp.issuer('helseid')}",
        "--oidc-audience",
        AUDIENCE,
    )
    server = ServeProcess(str(db_path), tmp_path / "serve.log", demo=False, extra=extra).wait_until_serving()
    try:
        for _ in range(6):  # a new connection each time: the kernel hands it to either worker
            me = httpx.get(f"{server.url[:-5]}/auth/userinfo", headers=bearer(kari), timeout=10)
            assert me.status_code == 200 and me.json()["patient"] == "Patient/1"
        refused = httpx.get(f"{server.url}/Patient/1", headers=bearer(KARI), timeout=10)
        assert refused.status_code == 401 and refused.json()["resourceType"] == "OperationOutcome"
        health = httpx.get(f"{server.url[:-5]}/health", timeout=10).json()
        assert health["issuers"] == {"citizen": "answers", "staff": "answers"}
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert kari not in log and kari.split(".")[2] not in log  # the token is never logged


def test_dev_idp_prints_its_issuers_and_how_to_trust_them_and_serves_discovery():
    from tests.serve_process import TIMEBOK

    process = subprocess.Popen([TIMEBOK, "dev-idp", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        citizen = first.split("ID-porten at ")[1].split(",")[0]
        assert citizen.startswith("http://127.0.0.1:") and not citizen.startswith("http://127.0.0.1:0/")
        assert f"--oidc-issuer citizen={citizen}" in second and "--oidc-audience timebok" in second
        document = httpx.get(f"{citizen}/.well-known/openid-configuration", timeout=10).json()
        assert document["issuer"] == citizen and document["code_challenge_methods_supported"] == ["S256"]
    finally:
        process.terminate()
        process.wait(10)


async def test_each_refused_token_gives_its_own_reason(real, idp, database):
    kari = citizen_token(idp, database)
    claims = payload(kari)
    cases = {
        "The token has expired": _resign(
            idp, "idporten", kari, exp=claims["iat"] - 120, iat=claims["iat"] - 400, nbf=claims["iat"] - 400
        ),
        "The token is not valid yet": _resign(idp, "idporten", kari, nbf=claims["iat"] + 600),
        "The token claims to be issued in the future": _resign(idp, "idporten", kari, iat=claims["iat"] + 600),
        "The token's exp claim is not acceptable": _resign(idp, "idporten", kari, exp="tomorrow"),
    }
    for reason, token in cases.items():
        says = outcome(await real.get("http://testserver/auth/userinfo", headers=bearer(token)), 401, "login")
        assert reason in says, (reason, says)
        assert reason == "The token is not valid yet" or "not valid yet" not in says, says
    # A token with neither nbf nor iat is judged by exp alone: a live one is taken.
    bare = _resign(idp, "idporten", kari)
    unsigned = {k: v for k, v in payload(bare).items() if k not in ("nbf", "iat", "iss")}
    plain = idp.provider.realms["idporten"].sign(idp.issuer("idporten"), unsigned)
    assert (await real.get("http://testserver/auth/userinfo", headers=bearer(plain))).status_code == 200


async def test_a_withdrawn_key_stops_verifying_once_the_key_sets_cache_lifetime_is_over(database, monkeypatch):
    import asyncio

    from timebok.backend import oidc

    server = ProviderServer(0, audience=AUDIENCE).start()
    try:
        server.provider.jwks_max_age = 1  # the issuer says: keep my keys one second
        monkeypatch.setattr(oidc, "KEYS_MIN_AGE", 0.5)
        verifier = verifier_for(server)
        old = citizen_token(server, database)
        async with await _client(create_app(database, demo=False, oidc=verifier)) as real:
            # Asked of the verifier itself: the backend also remembers a verified token for a few seconds (principals).
            assert verifier.verify(old)[1]["pid"] == _identity_number(database, 1)
            server.provider.withdraw("idporten")  # the key that signed `old` leaked: the issuer no longer publishes it
            new = citizen_token(server, database)
            await asyncio.sleep(1.2)
            says = outcome(await real.get("http://testserver/auth/userinfo", headers=bearer(old)), 401, "login")
            assert "a key the issuer does not publish" in says
            assert (await real.get("http://testserver/auth/userinfo", headers=bearer(new))).status_code == 200
    finally:
        server.stop()


def test_the_key_sets_cache_lifetime_honours_max_age_between_a_floor_and_a_ceiling(idp):
    import time

    from timebok.backend import oidc

    try:
        for said, kept in ((86400, oidc.KEYS_MAX_AGE), (0, oidc.KEYS_MIN_AGE), (120, 120.0)):
            idp.provider.jwks_max_age = said
            verifier = verifier_for(idp)
            issuer = verifier.issuers[idp.issuer("idporten")]
            assert abs(issuer.fresh_until - time.monotonic() - kept) < 2, (said, issuer.fresh_until - time.monotonic())
    finally:
        idp.provider.jwks_max_age = 300


def test_a_key_set_too_large_is_refused_and_the_cached_keys_stay(idp, database, monkeypatch):
    from joserfc.jwk import ECKey

    from timebok.backend import oidc
    from timebok.backend.oidc import IssuerUnreachable

    verifier = verifier_for(idp)
    issuer = verifier.issuers[idp.issuer("idporten")]
    cached = issuer.keys
    realm = idp.provider.realms["idporten"]
    try:
        realm.padding = [
            ECKey.generate_key("P-256", parameters={"kid": f"pad-{n}", "use": "sig"}) for n in range(oidc.JWKS_MAX_KEYS)
        ]
        with pytest.raises(IssuerUnreachable, match="more than the 100 accepted"):
            issuer.refresh_keys(verifier._client)
        assert issuer.keys is cached and "100 accepted" in verifier.health()["citizen"]  # served on the cached keys
        realm.padding = []
        monkeypatch.setattr(oidc, "JWKS_MAX_BYTES", 300)  # the real key set (an RSA and an EC key at least) is larger
        with pytest.raises(IssuerUnreachable, match="bytes"):
            issuer.refresh_keys(verifier._client)
        assert issuer.keys is cached
        with pytest.raises(IssuerUnreachable):
            verifier_for(idp)  # at start, too: refused, not kept
    finally:
        realm.padding = []


async def test_a_refused_sign_in_names_its_rule_so_the_app_can_say_why(real, idp, database):
    kari = citizen_token(idp, database)
    cases = {
        "not-a-patient": _resign(idp, "idporten", kari, pid="01010112345"),
        "assurance-too-low": citizen_token(idp, database, acr="idporten-loa-low"),
        "sign-in-level": staff_token(idp, database, level="3"),
        "unknown-office": _resign(
            idp, "helseid", staff_token(idp, database), **{"helseid://claims/client/claims/orgnr_child": "974760673"}
        ),
    }
    for rule, token in cases.items():
        response = await real.get("http://testserver/auth/userinfo", headers=bearer(token))
        outcome(response, 403, "forbidden")
        codes = [c["code"] for c in response.json()["issue"][0]["details"]["coding"]]
        assert rule in codes, (rule, response.text)
