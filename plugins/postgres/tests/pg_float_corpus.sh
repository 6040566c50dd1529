#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Doubles through the real dsrc binary against a real server: a table of
# float8 with more than 100 000 values (random bit patterns over every
# exponent and subnormals, -0, the largest and smallest values, integers
# around 2^53 and from 1e15 to 1e22, decimals, NaN and infinities) fetched
# as JSON Lines is byte-identical to what the server's row_to_json()
# writes for the same rows.  A real (float4) column comes out as the double
# nearest the server's float4 text: as row_to_json() writes r::text::float8.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
lib_tmpdir dsrc-pgfloat
pgdir=""
cleanup() { [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"; }

pg_start --no-replica

# Random doubles from their parts: a 52-bit fraction and a biased exponent
# in [0, 2046] (0: subnormal), m * 2^e computed exactly in float8.
su_psql <<'SQL' || { echo "loading the test data failed"; exit 1; }
SELECT setseed(0.23) \gset
CREATE TABLE public.floats (id int PRIMARY KEY, v float8, r real);
INSERT INTO public.floats (id, v)
SELECT g, CASE WHEN s < 0.5 THEN -1 ELSE 1 END *
          CASE WHEN e = 0 THEN f * power(2::float8, -1074)
               ELSE (4503599627370496 + f) * power(2::float8, e - 1075) END
FROM (SELECT g, random() AS s, floor(random() * 2047)::int AS e,
             floor(random() * 4503599627370496)::int8::float8 AS f
      FROM generate_series(1, 100000) g) x;
INSERT INTO public.floats (id, v)
SELECT 100000 + row_number() OVER (), v FROM unnest(ARRAY[
  '-0', '0', 'NaN', 'Infinity', '-Infinity', '1.7976931348623157e308',
  '-1.7976931348623157e308', '2.2250738585072014e-308', '-2.2250738585072014e-308',
  '5e-324', '-5e-324', '2.225073858507201e-308', '0.1', '0.30000000000000004',
  '1e-5', '1e-4', '0.00012345', '123.456', '-99.99', '1', '-1', '100', '1e14',
  '999999999999999', '999999999999999.9', '1e15', '1e16', '1e17', '1e18', '1e19',
  '1e20', '1e21', '1e22', '1e23', '2.5e15', '1.2345678901234568e+20'
]::float8[]) AS v;
INSERT INTO public.floats (id, v)
SELECT 200000 + g, 9007199254740992::float8 + g FROM generate_series(-50, 50) g;
INSERT INTO public.floats (id, v)
SELECT 300000 + g * 10 + k, power(10::float8, g) * k
FROM generate_series(15, 22) g, generate_series(1, 9) k;
INSERT INTO public.floats (id, v)
SELECT 400000 + g, g / 100.0::float8 FROM generate_series(-5000, 5000) g;
UPDATE public.floats SET r = v::real
  WHERE v = 'NaN' OR abs(v) = 'Infinity' OR abs(v) BETWEEN 1e-37 AND 1e37 OR v = 0;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO dsrc_test;
SQL

pg_dsrcd_conf "$tmp/conf" warning
pg_source_conf DSRC_PG_FLOAT_PASSWORD >"$tmp/conf/sources.d/pg.conf"
DSRC_PG_FLOAT_PASSWORD=$PG_PASSWORD
export DSRC_PG_FLOAT_PASSWORD
C="$DSRC -c $tmp/conf/dsrcd.conf"

n=$(su_psql -At -c "SELECT count(*) FROM public.floats")
[ "$n" -gt 100000 ] && ok || bad "only $n values in the corpus"
n=$(su_psql -At -c "SELECT count(*) FROM public.floats WHERE v <> 0 AND abs(v) < 2.2250738585072014e-308")
[ "$n" -gt 10 ] && ok || bad "only $n subnormals in the corpus"

# --- float8: dsrc fetch --format jsonl vs row_to_json, byte for byte ------
expect 0 $C fetch -q pg public/floats -c id,v --format jsonl -o "$tmp/dsrc.jsonl"
su_psql -At -c "SELECT row_to_json(t) FROM (SELECT id, v FROM public.floats) t" \
    >"$tmp/pg.jsonl" || bad "psql row_to_json failed"
sort "$tmp/dsrc.jsonl" >"$tmp/dsrc.sorted"
sort "$tmp/pg.jsonl" >"$tmp/pg.sorted"
n=$(wc -l <"$tmp/pg.sorted")
[ "$n" -gt 100000 ] && ok || bad "row_to_json wrote $n lines"
if cmp -s "$tmp/dsrc.sorted" "$tmp/pg.sorted"; then ok; else
    bad "float8 JSON Lines differ from row_to_json"
    diff "$tmp/dsrc.sorted" "$tmp/pg.sorted" | head -20
fi
has "$tmp/dsrc.jsonl" '"v":-0}'
has "$tmp/dsrc.jsonl" '"v":5e-324}'
has "$tmp/dsrc.jsonl" '"v":"-Infinity"}'
has "$tmp/dsrc.jsonl" '"v":1e+22}'

# --- real: the double nearest the server's float4 text --------------------
expect 0 $C fetch -q pg public/floats -c id,r --format jsonl -o "$tmp/dsrc_r.jsonl"
su_psql -At -c "SELECT row_to_json(t) FROM (SELECT id, r::text::float8 AS r FROM public.floats) t" \
    >"$tmp/pg_r.jsonl" || bad "psql row_to_json (real) failed"
sort "$tmp/dsrc_r.jsonl" >"$tmp/dsrc_r.sorted"
sort "$tmp/pg_r.jsonl" >"$tmp/pg_r.sorted"
if cmp -s "$tmp/dsrc_r.sorted" "$tmp/pg_r.sorted"; then ok; else
    bad "real JSON Lines differ from row_to_json(r::text::float8)"
    diff "$tmp/dsrc_r.sorted" "$tmp/pg_r.sorted" | head -20
fi
n=$(grep -c '"r":null' "$tmp/dsrc_r.jsonl")
[ "$n" -gt 1000 ] && [ "$n" -lt 90000 ] && ok || bad "$n NULL reals"

finish pg_float_corpus
