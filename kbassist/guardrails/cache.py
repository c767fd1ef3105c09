"""Django's database cache with an atomic ``incr`` that keeps the entry's expiry, for the
embedded profile.

The stock ``DatabaseCache.incr`` (``BaseCache.incr``) reads, then writes the new value with
the default timeout: two processes counting at the same moment can lose a count, and a
day-long rate-limit window would expire five minutes after its last count. Here the read and
the write share one transaction and only the value is rewritten. On SQLite (the embedded
profile, whose transactions start IMMEDIATE, see settings.py) that transaction holds the
write lock from its first statement, so increments from every process are serialised. With
PostgreSQL, use Redis (KB_REDIS_URL) for the cache.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache as _DatabaseCache
from django.db import connections, router, transaction


class DatabaseCache(_DatabaseCache):
    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        with transaction.atomic(using=db):
            value = self.get(key, self._missing_key, version=version)
            if value is self._missing_key:
                raise ValueError(f"Key '{key}' not found")
            value += delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET value = %s WHERE {connection.ops.quote_name('cache_key')} = %s",
                    [encoded, self.make_and_validate_key(key, version=version)],
                )
        return value
