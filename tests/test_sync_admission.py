"""Sync rounds are admitted a few at a time per process, in arrival order, once their body has arrived
(server/web/admission.py): under load every round waits about as long as the others, and a slow upload keeps no
one waiting."""

from __future__ import annotations

import asyncio
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.web.admission import Admission
from tests.conftest import start_server
from tests.test_sync_http import Device, create_changes, new_citizen


def test_admission_lets_in_at_most_its_limit_in_the_order_they_came():
    async def scenario() -> tuple[int, list[int]]:
        admission, inside, most, order = Admission(2), 0, 0, []

        async def one(number: int) -> None:
            nonlocal inside, most
            async with admission.admitted():
                inside += 1
                most = max(most, inside)
                order.append(number)
                await asyncio.sleep(0)  # let the others queue behind
                inside -= 1

        await asyncio.gather(*(one(number) for number in range(10)))
        return most, order

    most, order = asyncio.run(scenario())
    assert most == 2 and order == list(range(10))


def test_no_limit_lets_everything_in():
    async def scenario() -> int:
        admission, inside, most = Admission(0), 0, 0

        async def one() -> None:
            nonlocal inside, most
            async with admission.admitted():
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(10)))
        return most

    assert asyncio.run(scenario()) == 10


@pytest.fixture(scope="module")
def one_at_a_time(seeded_env, tmp_path_factory):
    """The suite's instance served by a process that admits a single sync round at a time."""
    data_dir = Path(seeded_env["MOTCUA_DATA_DIR"])
    server = start_server({**seeded_env, "MOTCUA_SYNC_CONCURRENCY": "1"}, cwd=tmp_path_factory.mktemp("admission"),
                          data_dir=data_dir)
    yield server
    server.stop()


def new_device(server) -> Device:
    return Device(new_citizen(server))


def test_rounds_beyond_the_limit_wait_their_turn_and_all_succeed(one_at_a_time):
    devices = [new_device(one_at_a_time) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        answers = list(pool.map(
            lambda device: device.sync([device.mutation("create", str(uuid.uuid4()),
                                                        changes=create_changes(full_name="Xếp hàng"))]),
            devices))
    assert [answer.status_code for answer in answers] == [200] * len(devices)
    assert all(answer.json()["results"][0]["status"] == "applied" for answer in answers)


def test_a_slow_upload_holds_no_place(one_at_a_time):
    """A phone on 2G that has sent its headers and half its body does not stop another phone's round."""
    slow = new_device(one_at_a_time)
    host, port = one_at_a_time.url.removeprefix("http://").split(":")
    cookies = "; ".join(f"{name}={value}" for name, value in slow.api.http.cookies.items())
    body = b'{"device_id": "' + slow.device_id.encode() + b'", "cursor": null, "mutations": []}'
    with socket.create_connection((host, int(port)), timeout=30) as uploading:
        uploading.sendall(f"POST /api/sync HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                          f"Cookie: {cookies}\r\nX-CSRF-Token: {slow.api.csrf}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:20])
        other = new_device(one_at_a_time)
        answer = other.sync([other.mutation("create", str(uuid.uuid4()), changes=create_changes(full_name="Không chờ"))])
        assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied"
        uploading.sendall(body[20:])  # the slow phone's round then completes as well
        assert uploading.recv(64).startswith(b"HTTP/1.1 200")
