"""Batches for the "numbers" cases (tests/bad_input/cases/numbers.json): sinkhorn_epsilon
outside its range [1e-4, 10] per query and in options, and Sinkhorn runs that do or do not
reach their tolerance. Numbers are written as text, so that 1e-310 (a subnormal) and -0 reach
the parser exactly as a user would write them."""
import os

GOOD = '{"id": "ok", "colors": "ea6a81,f6d727", "k": 3}'


def query(ident, extra):
    return '{"id": "%s", "colors": "ea6a81,f6d727", "k": 3%s}' % (ident, extra)


def generate(out):
    def write(name, text):
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    # One query per refused epsilon, then the accepted edge and a query without epsilon.
    refused = [("eps-1e-310", "1e-310"), ("eps-1e-30", "1e-30"), ("eps-1e-6", "1e-6"),
               ("eps-0", "0"), ("eps-minus-0", "-0"), ("eps-minus-1", "-1"),
               ("eps-below-limit", "0.0000999"), ("eps-above-max", "10.000001")]
    queries = [query(i, ', "sinkhorn_epsilon": %s' % v) for i, v in refused]
    queries.append(query("eps-at-limit", ', "sinkhorn_epsilon": 0.0001, "sinkhorn_max_iter": 20'))
    queries.append(query("eps-at-max", ', "sinkhorn_epsilon": 10'))
    queries.append(GOOD)
    # The epsilon only matters to Sinkhorn, which is no longer the default metric.
    write("epsilon_per_query.json",
          '{"queries": [%s], "options": {"metric": "sinkhorn"}}\n' % ",\n ".join(queries))

    for name, value in [("1e-310", "1e-310"), ("1e-30", "1e-30"), ("1e-6", "1e-6"),
                        ("below_limit", "0.0000999"), ("at_limit", "0.0001")]:
        write("epsilon_options_%s.json" % name,
              '{"queries": [%s], "options": {"metric": "sinkhorn", "sinkhorn_epsilon": %s, '
              '"sinkhorn_max_iter": 20}}\n'
              % (GOOD, value))

    # Convergence in the report: tol 0 is never reached (every solve stops at max_iter); a
    # loose tol with room to iterate is; emd and fast mode carry no Sinkhorn fields.
    write("convergence.json", '{"queries": [%s], "options": {"metric": "sinkhorn", '
          '"candidates": "hellinger"}}\n' % ",\n ".join([
        query("never", ', "sinkhorn_tol": 0, "sinkhorn_max_iter": 3, "rerank_k": 50'),
        query("loose", ', "sinkhorn_tol": 1e-3, "sinkhorn_max_iter": 100000, "rerank_k": 50'),
        query("emd", ', "metric": "emd", "rerank_k": 50'),
        query("fast-emd", ', "metric": "emd", "fast_mode": true'),
        query("fast-sinkhorn", ', "fast_mode": true')]))
