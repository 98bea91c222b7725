package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no cgo
)

// Client is a row of the clients table, as the RPC functions answer it.
type Client struct {
	ClientID  int64  `json:"client_id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// errNotFound is a missing client.
var errNotFound = errors.New("client not found")

// Store keeps clients in a SQLite file.
type Store struct {
	db *sql.DB
}

const schema = `CREATE TABLE IF NOT EXISTS clients (
	client_id  INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
)`

// OpenStore opens (creating if needed) the SQLite file at path and its schema.
func OpenStore(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serializes anyway
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// Create adds a client.
func (s *Store) Create(ctx context.Context, name string) (Client, error) {
	t := now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO clients (name, created_at, updated_at) VALUES (?, ?, ?)`, name, t, t)
	if err != nil {
		return Client{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Client{}, err
	}
	return Client{ClientID: id, Name: name, CreatedAt: t, UpdatedAt: t}, nil
}

// Read returns a client, or errNotFound.
func (s *Store) Read(ctx context.Context, id int64) (Client, error) {
	var c Client
	err := s.db.QueryRowContext(ctx, `SELECT client_id, name, created_at, updated_at FROM clients WHERE client_id = ?`, id).
		Scan(&c.ClientID, &c.Name, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, errNotFound
	}
	return c, err
}

// Update renames a client, or returns errNotFound.
func (s *Store) Update(ctx context.Context, id int64, name string) (Client, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE clients SET name = ?, updated_at = ? WHERE client_id = ?`, name, now(), id)
	if err != nil {
		return Client{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return Client{}, err
	} else if n == 0 {
		return Client{}, errNotFound
	}
	return s.Read(ctx, id)
}

// Delete removes a client and returns it as it was, or errNotFound.
func (s *Store) Delete(ctx context.Context, id int64) (Client, error) {
	c, err := s.Read(ctx, id)
	if err != nil {
		return Client{}, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM clients WHERE client_id = ?`, id); err != nil {
		return Client{}, err
	}
	return c, nil
}
