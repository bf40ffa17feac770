"""The test harness for flows: scenario files and the runners that play them as scripted callers.

``scenario.py`` reads ``*.test.yaml``, ``runner.py`` runs cases on the in-memory channel (what
``ivr test`` does, and what plugin authors call from their own tests), ``via_esl.py`` runs the
same cases through the controller and the simulated FreeSWITCH over TCP.
"""
