package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/tiercache/tiercache/strategy"
)

// db is the system of record: one table per data type, each row an id and a
// JSON document.
type db struct {
	sql     *sql.DB
	dialect string // "sqlite" or "postgres"
}

// openDB opens PostgreSQL at url, or a SQLite file in dir when url is empty.
func openDB(ctx context.Context, url, dir string) (*db, error) {
	d := &db{dialect: "sqlite"}
	var err error
	if url != "" {
		d.dialect = "postgres"
		d.sql, err = sql.Open("pgx", url)
	} else {
		// WAL and a busy timeout let the workload's readers and writers
		// share the file.
		d.sql, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "shop.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	}
	if err != nil {
		return nil, err
	}
	if err := d.sql.PingContext(ctx); err != nil {
		d.sql.Close()
		return nil, fmt.Errorf("%s: %w", d.dialect, err)
	}
	return d, nil
}

func (d *db) Close() error { return d.sql.Close() }

// arg returns the n-th (1-based) placeholder of the dialect.
func (d *db) arg(n int) string {
	if d.dialect == "postgres" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// table is a strategy.Source[V] over one table. It counts the reads and
// writes the cache let through.
type table[V any] struct {
	db                    *db
	name                  string
	get, upsert, del      string
	reads, writes, delete atomic.Int64
}

var _ strategy.Source[Product] = (*table[Product])(nil)

// newTable creates (or recreates) the table name.
func newTable[V any](ctx context.Context, d *db, name string) (*table[V], error) {
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS " + name,
		"CREATE TABLE " + name + " (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
	} {
		if _, err := d.sql.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Fields(stmt)[0], err)
		}
	}
	return &table[V]{
		db:     d,
		name:   name,
		get:    "SELECT body FROM " + name + " WHERE id = " + d.arg(1),
		upsert: "INSERT INTO " + name + " (id, body) VALUES (" + d.arg(1) + ", " + d.arg(2) + ") ON CONFLICT (id) DO UPDATE SET body = excluded.body",
		del:    "DELETE FROM " + name + " WHERE id = " + d.arg(1),
	}, nil
}

// Load reads id's row.
func (t *table[V]) Load(ctx context.Context, id string) (V, error) {
	t.reads.Add(1)
	var v V
	var body string
	err := t.db.sql.QueryRowContext(ctx, t.get, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return v, strategy.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("%s: select %q: %w", t.name, id, err)
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return v, fmt.Errorf("%s: decode %q: %w", t.name, id, err)
	}
	return v, nil
}

// Store writes id's row.
func (t *table[V]) Store(ctx context.Context, id string, v V) error {
	t.writes.Add(1)
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := t.db.sql.ExecContext(ctx, t.upsert, id, string(body)); err != nil {
		return fmt.Errorf("%s: upsert %q: %w", t.name, id, err)
	}
	return nil
}

// Remove deletes id's row.
func (t *table[V]) Remove(ctx context.Context, id string) error {
	t.delete.Add(1)
	if _, err := t.db.sql.ExecContext(ctx, t.del, id); err != nil {
		return fmt.Errorf("%s: delete %q: %w", t.name, id, err)
	}
	return nil
}
