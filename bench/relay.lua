-- wrk script: POST the relay event as JSON; count answers by status for the bench to read.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_EVENT") or '{"deal":{"id":"D-1001"}}'

function done(summary, latency, requests)
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
