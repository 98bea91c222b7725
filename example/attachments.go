package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"time"

	"github.com/echo-rpc/wrpc/echorpc"
	"github.com/labstack/echo/v4"
)

// Attachments are files attached to the clients: /rpc/attachments takes
// them as typed uploads (an echorpc.File field in attach's input) and
// answers them as files (download). The bytes live in the database, in the
// attachments table (a BLOB in SQLite, a BYTEA in PostgreSQL), so that the
// instances of a fleet, which share PostgreSQL, serve each other's
// uploads; a client's attachments go with it (ON DELETE CASCADE).

// Attachment is a row of the attachments table without its content, as
// attach, list and remove answer it.
type Attachment struct {
	AttachmentID int64  `json:"attachment_id"`
	ClientID     int64  `json:"client_id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Size         int64  `json:"size"`
	CreatedAt    string `json:"created_at"`
}

// NewAttachment is the input of attach: a file for a client.
type NewAttachment struct {
	ClientID int64        `json:"client_id"`
	File     echorpc.File `json:"file"`
}

// AttachmentID names an attachment, for remove and download.
type AttachmentID struct {
	AttachmentID int64 `json:"attachment_id"`
}

// maxAttachment is the largest file attach takes.
const maxAttachment = 10 << 20

// attachmentTypes are the types attach takes: images and PDFs, checked
// against the file's first bytes (a page of HTML declared image/png is
// refused 415), not only its declared type.
var attachmentTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

// attachmentLimits bound attach's uploads: one file of at most
// maxAttachment, of an attachmentTypes type.
var attachmentLimits = echorpc.FileLimits{
	MaxBody:     maxAttachment + 64<<10, // the file, its JSON part and the part headers
	MaxFileSize: maxAttachment,
	MaxFiles:    1,
	MaxParts:    2,
	Accept:      attachmentTypes,
}

var errNoAttachment = &echorpc.Error{Message: "Attachment not found."}

// mountAttachments registers /rpc/attachments on e: attach and remove
// write, list and download are queries (download answers GET
// /rpc/attachments/download?data={"attachment_id":1}, so a plain link or
// an <img> fetches it, with Range and If-None-Match answered).
func mountAttachments(e *echo.Echo, store *Store, cfg echorpc.Config) *echorpc.RPC {
	cfg.Name, cfg.Manifest = "AttachmentsAPI", true
	rpc := echorpc.New(e.Group("/rpc/attachments"), cfg)
	rpc.Functions(echorpc.Funcs{
		"attach": echorpc.Func(func(c echo.Context, in NewAttachment) (Attachment, error) {
			r, err := in.File.Open()
			if err != nil {
				return Attachment{}, err
			}
			defer r.Close()
			content, err := io.ReadAll(r) // at most maxAttachment: echorpc refused larger ones
			if err != nil {
				return Attachment{}, err
			}
			a, err := store.Attach(c.Request().Context(), in.ClientID, in.File.Name, in.File.Type, content)
			if errors.Is(err, errNotFound) {
				return Attachment{}, &echorpc.Error{Message: "Client not found."}
			}
			return a, err
		}),
	}, echorpc.WithFiles(attachmentLimits), echorpc.WithDoc("Attaches an image or a PDF (10 MiB at most) to a client."))
	rpc.Functions(echorpc.Funcs{
		"remove": echorpc.Func(func(c echo.Context, in AttachmentID) (Attachment, error) {
			a, err := store.RemoveAttachment(c.Request().Context(), in.AttachmentID)
			if errors.Is(err, errNotFound) {
				return Attachment{}, errNoAttachment
			}
			return a, err
		}),
	})
	rpc.Functions(echorpc.Funcs{
		"list": echorpc.Func(func(c echo.Context, in ClientID) ([]Attachment, error) {
			return store.Attachments(c.Request().Context(), in.ClientID)
		}),
		"download": echorpc.Func(func(c echo.Context, in AttachmentID) (echorpc.File, error) {
			a, content, err := store.AttachmentContent(c.Request().Context(), in.AttachmentID)
			if errors.Is(err, errNotFound) {
				return echorpc.File{}, errNoAttachment
			}
			if err != nil {
				return echorpc.File{}, err
			}
			modTime, _ := time.Parse(time.RFC3339, a.CreatedAt)
			// A bytes.Reader seeks: echorpc answers Range requests, and
			// If-None-Match against the ETag made of ModTime and Size.
			return echorpc.File{Name: a.Name, Type: a.Type, Size: a.Size, ModTime: modTime, Body: bytes.NewReader(content)}, nil
		}),
	}, echorpc.Query(0), echorpc.WithDoc("Reads without writing."))
	return rpc
}

// attachmentsSchema is the statements that create the attachments table
// and its index, once the clients table is there.
func attachmentsSchema(postgres bool) []string {
	table := `CREATE TABLE IF NOT EXISTS attachments (
	attachment_id INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id     INTEGER NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	type          TEXT NOT NULL,
	size          INTEGER NOT NULL,
	content       BLOB NOT NULL,
	created_at    TEXT NOT NULL
)`
	if postgres {
		table = `CREATE TABLE IF NOT EXISTS attachments (
	attachment_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	client_id     BIGINT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	type          TEXT NOT NULL,
	size          BIGINT NOT NULL,
	content       BYTEA NOT NULL,
	created_at    TEXT NOT NULL
)`
	}
	return []string{table, `CREATE INDEX IF NOT EXISTS attachments_client ON attachments (client_id)`}
}

const attachmentColumns = `attachment_id, client_id, name, type, size, created_at`

// oneAttachment runs a statement that returns at most one attachment row
// (without its content).
func (s *Store) oneAttachment(ctx context.Context, query string, args ...any) (Attachment, error) {
	stmt, cancel := bounded(ctx)
	defer cancel()
	var a Attachment
	err := s.db.QueryRowContext(stmt, s.q(query), args...).Scan(&a.AttachmentID, &a.ClientID, &a.Name, &a.Type, &a.Size, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, errNotFound
	}
	return a, failed(ctx, err)
}

// Attach stores a file for a client, or answers errNotFound when there is
// no such client. One statement: the client's existence and the insert are
// one step (and the foreign key holds against a delete in between).
func (s *Store) Attach(ctx context.Context, clientID int64, name, typ string, content []byte) (Attachment, error) {
	return s.oneAttachment(ctx, `INSERT INTO attachments (client_id, name, type, size, content, created_at)
		SELECT client_id, ?, ?, ?, ?, ? FROM clients WHERE client_id = ? RETURNING `+attachmentColumns,
		name, typ, int64(len(content)), content, now(), clientID)
}

// RemoveAttachment removes an attachment and returns it as it was, or
// errNotFound.
func (s *Store) RemoveAttachment(ctx context.Context, id int64) (Attachment, error) {
	return s.oneAttachment(ctx, `DELETE FROM attachments WHERE attachment_id = ? RETURNING `+attachmentColumns, id)
}

// Attachments lists a client's attachments, oldest first; an empty list
// when there are none (or no such client).
func (s *Store) Attachments(ctx context.Context, clientID int64) ([]Attachment, error) {
	stmt, cancel := bounded(ctx)
	defer cancel()
	list, err := func() ([]Attachment, error) {
		rows, err := s.db.QueryContext(stmt, s.q(`SELECT `+attachmentColumns+` FROM attachments WHERE client_id = ? ORDER BY attachment_id`), clientID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		list := []Attachment{}
		for rows.Next() {
			var a Attachment
			if err := rows.Scan(&a.AttachmentID, &a.ClientID, &a.Name, &a.Type, &a.Size, &a.CreatedAt); err != nil {
				return nil, err
			}
			list = append(list, a)
		}
		return list, rows.Err()
	}()
	return list, failed(ctx, err)
}

// AttachmentContent returns an attachment with its content, or
// errNotFound.
func (s *Store) AttachmentContent(ctx context.Context, id int64) (Attachment, []byte, error) {
	stmt, cancel := bounded(ctx)
	defer cancel()
	var a Attachment
	var content []byte
	err := s.db.QueryRowContext(stmt, s.q(`SELECT `+attachmentColumns+`, content FROM attachments WHERE attachment_id = ?`), id).
		Scan(&a.AttachmentID, &a.ClientID, &a.Name, &a.Type, &a.Size, &a.CreatedAt, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, nil, errNotFound
	}
	return a, content, failed(ctx, err)
}
