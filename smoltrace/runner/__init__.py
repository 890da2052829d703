"""The runner: tasks, tools, models, agents, telemetry setup and the run loop."""

import os

# litellm fetches its model price map from GitHub at import unless told otherwise: that costs ~10 s of
# retries offline and makes costs depend on the day. smoltrace uses the price map bundled with the
# installed litellm (set LITELLM_LOCAL_MODEL_COST_MAP=False to opt back in to the remote one).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
