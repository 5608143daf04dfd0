"""Django's Redis cache with one redis-py client per connection pool.

Django's ``RedisCacheClient`` makes a new ``redis.Redis`` for every cache call; redis-py 8
builds each one's table of ~170 response callbacks (~130 us), more than the call itself costs.
Every page reads its session through the cache. A ``redis.Redis`` is thread-safe (it takes a
connection from its pool per command), so one per pool serves every call of the process.
"""
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
