"""The Redis cache backend shares one redis-py client per connection pool (iris_portal.cache)."""
import os
import threading

from iris_portal.cache import SharedClientRedisCache


def redis_cache():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
    return SharedClientRedisCache(url, {"KEY_PREFIX": "test-shared-client"})


def test_one_client_serves_every_call_and_the_cache_works():
    cache = redis_cache()
    client = cache._cache.get_client("a")
    assert cache._cache.get_client("b", write=True) is client
    cache.set("session", {"_auth_user_id": "4"}, 30)
    assert cache.get("session") == {"_auth_user_id": "4"}
    assert cache.add("session", "other", 30) is False
    assert cache.add("n", 1, 30) and cache.incr("n", 2) == 3
    cache.delete_many(["session", "n"])
    assert cache.get("session") is None and cache.get("n") is None


def test_threads_share_the_client_safely():
    cache = redis_cache()
    cache.set_many({f"k{index}": index for index in range(40)}, 30)
    wrong = []

    def read(offset):
        for round_ in range(50):
            index = (offset + round_) % 40
            if cache.get(f"k{index}") != index:
                wrong.append(index)

    threads = [threading.Thread(target=read, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.delete_many([f"k{index}" for index in range(40)])
    assert wrong == []
