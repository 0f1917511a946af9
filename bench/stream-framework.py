"""
Stream-Framework's side of bench/stream-framework-bench.ts: one workload per run, against the
Redis on the port given, printing one JSON line. Stream-Framework itself is not part of Eddy: put
a checkout on PYTHONPATH (the TypeScript side does, from EDDY_BENCH_STREAM_FRAMEWORK), with
python3-redis, python3-celery and python3-six from Debian. Celery runs eagerly in this process
(task arguments are still pickled), the way Stream-Framework's own tests run it.

Usage: python3 bench/stream-framework.py PORT WORKLOAD COUNT TAG
Workloads: adds, aggregated, notification (COUNT adds, one call each, into one feed), fanout
(one activity to COUNT followers), page (p50 and p99 of 2,000 pages of 25 from a feed of COUNT),
memory (bytes per entry of a COUNT-entry follower timeline).
"""

import datetime
import json
import sys
import time

import redis.client

# Stream-Framework 1.4 imports redis-py 3's BasePipeline, which redis-py 4 (Debian 12) names Pipeline.
if not hasattr(redis.client, 'BasePipeline'):
    redis.client.BasePipeline = redis.client.Pipeline
# ...and calls ZADD the redis-py 2 way, zadd(key, score1, member1, ...), where redis-py 3+ takes a
# mapping: the same command either way, so the pairs are passed on as ZADD's own arguments.
if redis.__version__.split('.')[0] not in ('0', '1', '2'):

    def _zadd(self, key, *pairs, **options):
        if len(pairs) == 1 and isinstance(pairs[0], dict):
            return _zadd_mapping(self, key, pairs[0], **options)
        return self.execute_command('ZADD', key, *pairs)

    _zadd_mapping = redis.commands.core.SortedSetCommands.zadd
    redis.commands.core.SortedSetCommands.zadd = _zadd

from stream_framework import settings  # noqa: E402

PORT, WORKLOAD, COUNT, TAG = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
settings.STREAM_REDIS_CONFIG = {'default': {'host': '127.0.0.1', 'port': PORT, 'db': 0, 'password': None}}

from celery import current_app  # noqa: E402

current_app.conf.update(task_always_eager=True, task_serializer='pickle', accept_content=['pickle'])

from stream_framework.activity import Activity  # noqa: E402
from stream_framework.feed_managers.base import FanoutPriority, Manager  # noqa: E402
from stream_framework.feeds.aggregated_feed.redis import RedisAggregatedFeed  # noqa: E402
from stream_framework.feeds.notification_feed.redis import RedisNotificationFeed  # noqa: E402
from stream_framework.feeds.redis import RedisFeed  # noqa: E402
from stream_framework.storage.redis.connection import get_redis_connection  # noqa: E402
from stream_framework.verbs.base import Add  # noqa: E402

START = datetime.datetime.utcnow()


def activity(i, obj=None):
    """An activity whose time moves by a millisecond each, so serialization ids stay distinct."""
    return Activity(i % 1000, Add, i if obj is None else obj, time=START + datetime.timedelta(milliseconds=i))


class FlatFeed(RedisFeed):
    key_format = 'sfbench:' + TAG + ':flat:%(user_id)s'
    max_length = 1000


class AggFeed(RedisAggregatedFeed):
    key_format = 'sfbench:' + TAG + ':agg:%(user_id)s'


class NoteFeed(RedisNotificationFeed):
    key_format = 'sfbench:' + TAG + ':note:%(user_id)s'
    markers_key_format = 'sfbench:' + TAG + ':marks:%(user_id)s'


def adds(feed_class, count, obj=None):
    feed = feed_class(1)
    started = time.perf_counter()
    for i in range(count):
        a = activity(i, None if obj is None else obj(i))
        feed_class.insert_activity(a)
        feed.add(a)
    return {'rate': count / (time.perf_counter() - started)}


class Fanout(Manager):
    feed_classes = {'normal': FlatFeed}
    user_feed_class = FlatFeed

    def get_user_follower_ids(self, user_id):
        return {FanoutPriority.HIGH: list(range(2, COUNT + 2))}


def fanout():
    manager = Fanout()
    started = time.perf_counter()
    manager.add_user_activity(1, activity(7))
    seconds = time.perf_counter() - started
    return {'ms': seconds * 1000, 'rate': COUNT / seconds}


def page():
    adds(FlatFeed, COUNT)
    feed = FlatFeed(1)
    times = []
    for _ in range(2200):
        started = time.perf_counter()
        items = feed[:25]
        times.append((time.perf_counter() - started) * 1000)
        assert len(items) == 25
    times = sorted(times[200:])
    return {'p50': times[len(times) // 2], 'p99': times[int(len(times) * 0.99)]}


def memory():
    feed = FlatFeed(2)
    with feed.get_timeline_batch_interface() as batch:
        feed.add_many([activity(i) for i in range(COUNT)], batch_interface=batch)
    redis = get_redis_connection()
    key = feed.timeline_storage.get_key() if hasattr(feed.timeline_storage, 'get_key') else feed.key
    entries = redis.zcard(key)
    return {'bytes': redis.memory_usage(key, samples=0) / entries, 'entries': entries}


def run():
    if WORKLOAD == 'adds':
        return adds(FlatFeed, COUNT)
    if WORKLOAD == 'aggregated':
        return adds(AggFeed, COUNT)
    if WORKLOAD == 'notification':
        return adds(NoteFeed, COUNT, lambda i: i % 7)
    if WORKLOAD == 'fanout':
        return fanout()
    if WORKLOAD == 'page':
        return page()
    if WORKLOAD == 'memory':
        return memory()
    raise SystemExit('unknown workload ' + WORKLOAD)


print(json.dumps(run()))
