"""Tests of the delivery transports, each against a real peer on 127.0.0.1."""
