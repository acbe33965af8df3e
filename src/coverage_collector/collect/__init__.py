"""`collect`: the producer side: coverage servers into a collection or to S3.

protocol.py   the server's answers, checked where they enter (identity headers, snapshots)
client.py     plain HTTP to the servers: timeouts, size caps, retries, no credentials
discover.py   servers on this machine (`/proc/net/tcp{,6}` LISTEN sockets)
kubernetes.py servers in pods (the Kubernetes API, port-forward through the API server)
sinks.py      where snapshots go: a collection's entries, or S3 in the producer's layout
upload.py     the bucket (boto3)
run.py        the stage: `Options` -> `run` -> `Summary`
"""

from coverage_collector.collect.discover import PortRange
from coverage_collector.collect.run import Options, Summary, run

__all__ = ["Options", "PortRange", "Summary", "run"]
