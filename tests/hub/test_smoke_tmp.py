import time
from conftest import GOOD, reader_for

def test_smoke(stores, store, hub):
    from smoltrace.hub.publish import publish_run
    r = reader_for(store)
    print(r.query("select run_id, agent_type, success, stop_reason, steps from results"))
    t = time.time()
    res = publish_run(r, stores.run_a, token=GOOD, endpoint=hub.endpoint)
    print(time.time() - t, res)
    for name, repo in hub.repos.items():
        print(name, sorted(repo.files))
    print(hub.repos[res.results_repo].files["README.md"].decode())
    print(hub.unhandled)
