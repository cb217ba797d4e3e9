"""The e-mail channel against a real SMTP server on loopback (aiosmtpd): the message a mail program reads (Norwegian
letters in the subject and the text, its Message-ID), one connection kept for many messages, a connection the
server dropped while idle opened anew without a failed try, and an address that would break the protocol refused."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests.serve_process import free_port
from timebok.backend import channels
from timebok.backend.channels import Failed, Outgoing, SmtpChannel

LONG_SUBJECT = "Påminnelse: time hos Fjordsiden legekontor på Ålesund sjukehus, Sørsida — ærlig talt"
BODY = "Du har time torsdag 26. nov. kl. 09:00 på Sørsida.\n.Linja startar med punktum.\nLes mer i timebok."


class Keeper:
    """Keeps each message's bytes and the client port it came from (one port: one connection)."""

    def __init__(self) -> None:
        self.mails: list[tuple[int, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.mails.append((session.peer[1], envelope.original_content or envelope.content))
        return "250 OK"


def _serve(keeper: Keeper, **options) -> tuple[Controller, str]:
    port = free_port()
    controller = Controller(keeper, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, f"smtp://127.0.0.1:{port}"


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8BITMIME", "without 8BITMIME"])
def test_norwegian_letters_read_right_in_a_mail_program_with_the_messages_own_id(eight_bit):
    keeper = Keeper()
    # decode_data: the server then does not offer 8BITMIME, and the text must go quoted-printable.
    controller, url = _serve(keeper, decode_data=not eight_bit)
    try:
        channel = SmtpChannel(url)
        channel.send(Outgoing("reminder:7:email:kari", "kari.nordmann@innbygger.example", LONG_SUBJECT, BODY))
        channel.close()
    finally:
        controller.stop()
    [(_, raw)] = keeper.mails
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == LONG_SUBJECT
    assert mail.get_content().replace("\r\n", "\n").rstrip("\n") == BODY
    assert mail["To"] == "kari.nordmann@innbygger.example"
    assert mail["Message-ID"] == f"<{Outgoing('reminder:7:email:kari', '', '', '').message_id}@timebok.example>"
    assert "kari" not in mail["Message-ID"]  # the dedup key names the address; its digest does not
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))  # folded headers
    assert raw.isascii() != eight_bit  # 8bit only where the server said it takes it


def test_many_messages_go_over_one_connection_and_one_dropped_while_idle_is_opened_anew(monkeypatch):
    keeper = Keeper()
    # The server hangs up on a client silent for half a second, as real servers do after some minutes.
    controller, url = _serve(keeper, timeout=0.5)
    monkeypatch.setattr(channels, "IDLE_CHECK_SECONDS", 0.2)
    try:
        channel = SmtpChannel(url)
        for n in range(5):
            channel.send(Outgoing(f"reminder:{n}:email:p{n}", f"p{n}@innbygger.example", "Påminnelse om time", "Hei"))
        time.sleep(1.0)  # idle past the server's patience: it has closed the connection
        channel.send(Outgoing("reminder:9:email:p9", "p9@innbygger.example", "Påminnelse om time", "Hei"))  # no Failed
        channel.close()
    finally:
        controller.stop()
    ports = [port for port, _ in keeper.mails]
    assert len(ports) == 6
    assert len(set(ports[:5])) == 1  # five messages, one connection
    assert ports[5] != ports[0]  # the dropped one was not reused


def test_an_address_that_would_break_the_protocol_is_refused_for_good_and_nothing_is_sent():
    keeper = Keeper()
    controller, url = _serve(keeper)
    try:
        channel = SmtpChannel(url)
        for address in (
            "kari@innbygger.example>\r\nRCPT TO:<ola@innbygger.example",
            "kari@innbygger.example\nBcc: x@y.example",
            "ingen-krøllalfa",
        ):
            with pytest.raises(Failed) as refused:
                channel.send(Outgoing("confirmed:1:email:x", address, "Bekreftet", "Hei"))
            assert refused.value.final  # trying again cannot help: «feilet», not retried
        channel.close()
    finally:
        controller.stop()
    assert keeper.mails == []
