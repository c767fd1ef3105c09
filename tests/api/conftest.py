"""Fixtures for the API: keys for the shared test users, and a client that sends a key."""

import json

import pytest

from kbassist.api.models import APIKey


@pytest.fixture
def key_for(db):
    """``key_for(user, name="test")``: a new key's secret."""

    def make(user, name="test", **options):
        return APIKey.objects.create_key(user, name, **options)[1]

    return make


class KeyClient:
    """Django's test client (the whole request stack), every request carrying one key."""

    def __init__(self, client, secret):
        self.client = client
        self.secret = secret
        self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, path, params=None, **kwargs):
        return self.client.get(path, params, headers=self.headers, **kwargs)

    def delete(self, path):
        return self.client.delete(path, headers=self.headers)

    def post(self, path, payload=None):
        """JSON body."""
        return self.client.post(path, json.dumps(payload or {}), content_type="application/json", headers=self.headers)

    def patch(self, path, payload):
        return self.client.patch(path, json.dumps(payload), content_type="application/json", headers=self.headers)

    def upload(self, path, data):
        """Multipart form (files as SimpleUploadedFile)."""
        return self.client.post(path, data, headers=self.headers)


@pytest.fixture
def api(client, key_for):
    """``api(user)``: a ``KeyClient`` with a new key of ``user``."""
    return lambda user, **options: KeyClient(client, key_for(user, **options))


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
