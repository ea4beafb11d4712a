package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// viewsPG is the peer: PostgreSQL 15 with PostGIS 3.3, started by the
// bench in its own data directory, listening only on a Unix socket. The
// server refuses to run as root, so as root it runs as the postgres user.
type viewsPG struct {
	bin, data, sock string
	cred            *syscall.Credential
}

// pgForms are the forms of the desa aggregate tried on PostGIS: the
// availability and latency p50/p95 (of successful checks) per desa over
// the window. $FROM and $TO are the window's bounds.
var pgForms = []struct{ name, what, sql string }{
	{"groupby", "GROUP BY the desa code stored with each result, percentile_cont", `
SELECT region, count(*), avg(ok::int),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ok),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ok)
FROM results WHERE ts >= $FROM AND ts < $TO GROUP BY region`},
	{"groupby-disc", "the same with percentile_disc", `
SELECT region, count(*), avg(ok::int),
  percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ok),
  percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ok)
FROM results WHERE ts >= $FROM AND ts < $TO GROUP BY region`},
	{"prejoined", "results joined to a probe→desa table pre-joined with ST_Contains", `
SELECT d.kode, count(*), avg(r.ok::int),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms) FILTER (WHERE r.ok),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms) FILTER (WHERE r.ok)
FROM results r JOIN probe_desa d USING (probe) WHERE r.ts >= $FROM AND r.ts < $TO GROUP BY d.kode`},
	{"spatial", "results → probe point → desa polygon by ST_Contains at query time (GiST)", `
SELECT d.kode, count(*), avg(r.ok::int),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms) FILTER (WHERE r.ok),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms) FILTER (WHERE r.ok)
FROM results r JOIN probes p USING (probe) JOIN desa d ON ST_Contains(d.geom, p.geom)
WHERE r.ts >= $FROM AND r.ts < $TO GROUP BY d.kode`},
}

func newViewsPG(bin, dir string) (*viewsPG, error) {
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		return nil, fmt.Errorf("no PostgreSQL in -pg-bin %s (%v): apt-get install postgresql-15-postgis-3, or pass -pg-bin DIR", bin, err)
	}
	if _, err := os.Stat(filepath.Join(pgShare(bin), "extension", "postgis.control")); err != nil {
		return nil, fmt.Errorf("no PostGIS for the PostgreSQL of %s (%v): apt-get install postgresql-15-postgis-3", bin, err)
	}
	pg := &viewsPG{bin: bin, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL does not run as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := os.MkdirAll(pg.sock, 0o755); err != nil {
		return nil, err
	}
	if err := pg.own(dir); err != nil {
		return nil, err
	}
	return pg, nil
}

func pgShare(bin string) string {
	out, err := exec.Command(filepath.Join(bin, "pg_config"), "--sharedir").Output()
	if err != nil {
		return "/usr/share/postgresql/15"
	}
	return strings.TrimSpace(string(out))
}

func (pg *viewsPG) own(dir string) error {
	if pg.cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(pg.cred.Uid), int(pg.cred.Gid))
	})
}

func (pg *viewsPG) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, filepath.Join(pg.bin, name), args...)
	c.Dir = os.TempDir()
	if pg.cred != nil {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	return c
}

func (pg *viewsPG) run(ctx context.Context, name string, args ...string) error {
	c := pg.cmd(ctx, name, args...)
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, clipOut(string(out)))
	}
	return nil
}

func (pg *viewsPG) initdb(ctx context.Context) error {
	return pg.run(ctx, "initdb", "-D", pg.data, "-U", "bench", "--auth=trust", "-E", "UTF8", "--no-sync")
}

// start runs the server on the Unix socket only (no TCP), with its
// defaults otherwise; restart is the "cold" of the peer.
func (pg *viewsPG) start(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(pg.data, "postmaster.pid")); err == nil {
		// Left running by a bench that was killed: stop it first.
		pg.run(ctx, "pg_ctl", "-D", pg.data, "-w", "-m", "fast", "stop")
	}
	return pg.run(ctx, "pg_ctl", "-D", pg.data, "-w", "-t", "120", "-l", filepath.Join(pg.data, "server.log"),
		"-o", fmt.Sprintf("-c listen_addresses='' -k %s", pg.sock), "start")
}

func (pg *viewsPG) stop() {
	if err := pg.run(context.Background(), "pg_ctl", "-D", pg.data, "-w", "-m", "fast", "stop"); err != nil {
		fmt.Fprintf(os.Stderr, "jangkau-bench: stopping PostgreSQL: %v\n", err)
	}
}

func (pg *viewsPG) psql(ctx context.Context, args ...string) *exec.Cmd {
	return pg.cmd(ctx, "psql", append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.sock, "-U", "bench", "-d", "postgres"}, args...)...)
}

// sql runs statements and returns psql's output.
func (pg *viewsPG) sql(ctx context.Context, stmts ...string) (string, error) {
	args := []string{"-A", "-t"}
	for _, s := range stmts {
		args = append(args, "-c", s)
	}
	out, err := pg.psql(ctx, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, clipOut(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// load creates the tables and COPYs the data set into them: results with
// the desa code of their probe, the probes' points, the desa polygons
// (from the same GeoJSON the collectors read) and the pre-joined
// probe→desa table.
// progress is told of each probe's results as they go into the COPY.
func (pg *viewsPG) load(ctx context.Context, d *viewsData, regionsFile string, progress func(int)) error {
	if _, err := pg.sql(ctx, `CREATE EXTENSION postgis`,
		`CREATE TABLE results (ts timestamptz NOT NULL, probe text NOT NULL, region text NOT NULL, check_name text, service text, kind text, ok boolean NOT NULL, duration_ms double precision NOT NULL)`,
		`CREATE TABLE probes (probe text PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)`,
		`CREATE TABLE desa (kode text PRIMARY KEY, geom geometry(MultiPolygon, 4326) NOT NULL)`); err != nil {
		return err
	}
	start := time.Now()
	if err := pg.copy(ctx, "results (ts, probe, region, check_name, service, kind, ok, duration_ms)", func(w *bufio.Writer) error {
		for i := range d.probes {
			p := &d.probes[i]
			for k := range d.perProbe {
				r := d.result(i, k)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%t\t%g\n", r.Time.Format(time.RFC3339Nano), p.id, p.cell.Region,
					r.Check, r.Service, r.Kind, r.OK, r.DurationMS)
			}
			progress(d.perProbe)
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("postgis: COPY of %d results in %s\n", d.perProbe*len(d.probes), time.Since(start).Round(time.Second))
	if err := pg.copy(ctx, "probes (probe, geom)", func(w *bufio.Writer) error {
		for i, p := range d.probes {
			fmt.Fprintf(w, "%s\tSRID=4326;POINT(%.7f %.7f)\n", p.id, d.where[i][0], d.where[i][1])
		}
		return nil
	}); err != nil {
		return err
	}
	if err := pg.copyDesa(ctx, regionsFile); err != nil {
		return err
	}
	_, err := pg.sql(ctx, `CREATE INDEX desa_geom ON desa USING gist (geom)`,
		`CREATE TABLE probe_desa AS SELECT p.probe, d.kode FROM probes p JOIN desa d ON ST_Contains(d.geom, p.geom)`,
		`VACUUM ANALYZE`)
	return err
}

func (pg *viewsPG) copyDesa(ctx context.Context, regionsFile string) error {
	b, err := os.ReadFile(regionsFile)
	if err != nil {
		return err
	}
	var fc struct {
		Features []struct {
			Properties struct {
				Kode string `json:"kode"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return fmt.Errorf("%s: %w", regionsFile, err)
	}
	// The GeoJSON goes in as text and becomes geometry in SQL.
	return pg.copyThen(ctx, "desa_json (kode, gj)", `CREATE UNLOGGED TABLE desa_json (kode text, gj text)`,
		`INSERT INTO desa SELECT kode, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(gj), 4326)) FROM desa_json; DROP TABLE desa_json`,
		func(w *bufio.Writer) error {
			for _, f := range fc.Features {
				if strings.Count(f.Properties.Kode, ".") != 3 {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\n", f.Properties.Kode, copyEscape(string(f.Geometry)))
			}
			return nil
		})
}

func copyEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`).Replace(s)
}

func (pg *viewsPG) copy(ctx context.Context, table string, rows func(*bufio.Writer) error) error {
	return pg.copyThen(ctx, table, "", "", rows)
}

// copyThen runs before, COPYs rows into table from psql's stdin (text
// format), then runs after, in one psql session.
func (pg *viewsPG) copyThen(ctx context.Context, table, before, after string, rows func(*bufio.Writer) error) error {
	var args []string
	if before != "" {
		args = append(args, "-c", before)
	}
	args = append(args, "-c", "COPY "+table+" FROM STDIN")
	if after != "" {
		args = append(args, "-c", after)
	}
	c := pg.psql(ctx, args...)
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	werr := rows(w)
	if werr == nil {
		werr = w.Flush()
	}
	in.Close()
	if err := c.Wait(); err != nil {
		return fmt.Errorf("COPY %s: %w: %s", table, err, clipOut(out.String()))
	}
	if werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		return werr
	}
	return nil
}

var pgTiming = regexp.MustCompile(`Time: ([0-9.]+) ms`)

// query runs one form over [from, to) in a new psql session and returns
// the time psql measured for it (\timing: from sending the query to the
// last row) and the rows it returned.
func (pg *viewsPG) query(ctx context.Context, sql string, from, to time.Time) (time.Duration, int, error) {
	sql = strings.NewReplacer("$FROM", "'"+from.Format(time.RFC3339Nano)+"'", "$TO", "'"+to.Format(time.RFC3339Nano)+"'").Replace(sql)
	out, err := pg.sql(ctx, `\timing on`, sql)
	if err != nil {
		return 0, 0, err
	}
	m := pgTiming.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0, 0, fmt.Errorf("psql printed no timing: %s", clipOut(out))
	}
	v, err := strconv.ParseFloat(m[len(m)-1][1], 64)
	if err != nil {
		return 0, 0, err
	}
	rows := strings.Count(out, "\n") // one line per row, then the timing line
	return time.Duration(v * float64(time.Millisecond)), rows, nil
}

// pgSettings are the server settings that bear on the aggregate's speed,
// printed with the table (the bench runs PostgreSQL with its defaults).
var pgSettings = []string{"shared_buffers", "work_mem", "effective_cache_size", "max_parallel_workers_per_gather",
	"max_parallel_workers", "max_worker_processes", "jit", "random_page_cost"}

// settings are pgSettings and the size of the results table, as
// "name=value" pairs.
func (pg *viewsPG) settings(ctx context.Context) string {
	var sel []string
	for _, n := range pgSettings {
		sel = append(sel, fmt.Sprintf("'%s=' || current_setting('%s')", n, n))
	}
	sel = append(sel, `'results=' || pg_size_pretty(pg_total_relation_size('results'))`)
	out, err := pg.sql(ctx, "SELECT "+strings.Join(sel, " || ' ' || "))
	if err != nil {
		return err.Error()
	}
	return out
}

// versions are the server's and PostGIS's own words.
func (pg *viewsPG) versions(ctx context.Context) string {
	out, err := pg.sql(ctx, `SELECT version() || E'\n' || postgis_full_version()`)
	if err != nil {
		return err.Error()
	}
	return out
}
