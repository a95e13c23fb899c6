"""Background jobs that must run once per cluster run in one worker at a time."""

from __future__ import annotations

import asyncio

import redis

from footfall.cluster.leases import RedisLeases
from footfall.jobs.runner import Job, JobRunner


def test_a_lease_has_one_holder_until_released(redis_client: redis.Redis) -> None:
    one, two = RedisLeases(redis_client), RedisLeases(redis_client)
    assert one.acquire("warming")
    assert one.acquire("warming")  # ours already: renewed
    assert not two.acquire("warming")
    assert not two.renew("warming")
    two.release("warming")  # not ours: nothing happens
    assert one.renew("warming")
    one.release("warming")
    assert two.acquire("warming")


def test_an_expired_lease_is_taken_over(redis_client: redis.Redis) -> None:
    one = RedisLeases(redis_client, ttl_seconds=0.05)
    two = RedisLeases(redis_client, ttl_seconds=0.05)
    assert one.acquire("warming")
    redis_client.pexpire("footfall:lease:warming", 1)
    asyncio.run(asyncio.sleep(0.01))
    assert two.acquire("warming")
    assert not one.renew("warming")


def test_a_cluster_job_runs_in_one_runner_and_moves_when_it_stops(
    redis_client: redis.Redis,
) -> None:
    runs: list[str] = []

    def job(who: str) -> Job:
        async def run() -> None:
            while True:
                runs.append(who)
                await asyncio.sleep(0.01)

        return Job("warming", run, once_per_cluster=True)

    async def scenario() -> None:
        first = JobRunner([job("first")], leases=RedisLeases(redis_client, ttl_seconds=0.3))
        second = JobRunner([job("second")], leases=RedisLeases(redis_client, ttl_seconds=0.3))
        first.start()
        await asyncio.sleep(0.05)
        second.start()
        await asyncio.sleep(0.4)  # longer than the lease: the holder renews it
        assert set(runs) == {"first"}
        assert first.leased == {"warming"} and second.leased == set()
        await first.stop()  # gives the lease back
        runs.clear()
        await asyncio.sleep(0.3)
        assert set(runs) == {"second"}
        await second.stop()

    asyncio.run(scenario())
