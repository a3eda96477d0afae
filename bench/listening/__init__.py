"""Listening tests (MUSHRA, ITU-R BS.1534-3): build a test folder from runs, serve it to raters,
store their ratings safely, and analyse them next to the objective metrics.

Modules: :mod:`~bench.listening.testdef` (the test folder's ``test.json``), :mod:`~bench.listening.store`
(ratings in SQLite), then the builders, the server and the analysis on top of them.
"""
