"""Resource agents: how tandem runs them and what their answers mean.

- :mod:`tandem.agents.ocf`: OCF exit codes, Pacemaker's op-status values, the
  LSB mappings, agent lookup and the OCF environment (no I/O);
- :mod:`tandem.agents.runner`: the :class:`~tandem.agents.runner.AgentRunner`
  protocol and :class:`~tandem.agents.runner.SubprocessRunner` (real agents,
  process groups, timeouts, cgroup placement);
- :mod:`tandem.agents.metadata`: agent meta-data (parameters, default ops);
- :mod:`tandem.agents.reload`: ``op-force-restart`` / ``op-restart-digest``;
- ``resource.d/tandem/Dummy``: the built-in test agent ``ocf:tandem:Dummy``.

The executor that schedules them is :mod:`tandem.daemon.executor`.
"""
