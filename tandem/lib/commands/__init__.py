"""Library commands: one function per user action, shared by the CLI and the HTTPS API.

Each takes a :class:`tandem.lib.env.LibraryEnvironment` first, validates and
collects *every* problem as reports, raises :class:`tandem.errors.TandemError`
when any is an error, and only then edits and pushes the CIB.
"""
