"""The runner: tasks, tools, models, agents, telemetry setup and the run loop."""
