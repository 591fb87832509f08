"""The management daemon (tandemd-api, pcsd's role) and its clients; see docs/api.md."""
