/*
 * pgrepl.h: the second public face of dip's PostgreSQL module: logical replication.
 *
 * - A replication connection (libpq, replication=database; the same connection settings as
 *   every dip connection: DIP_PG_CONNINFO and libpq's PG* variables) with IDENTIFY_SYSTEM,
 *   CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT, DROP_REPLICATION_SLOT and
 *   START_REPLICATION SLOT ... LOGICAL (PostgreSQL docs, "Streaming Replication Protocol").
 * - The COPY BOTH stream: XLogData ('w') and primary keepalive ('k') messages in, standby
 *   status updates ('r') out. The flush position reported to the server is only ever what the
 *   caller confirmed with pgrepl_confirm(): the server may drop WAL up to it, so confirming a
 *   transaction before its effects are durable downstream loses it after a crash.
 * - Slot health: retained WAL, wal_status 'lost' / invalidation detection, heartbeats.
 * - The pgoutput decoder (protocol versions 1 to 4, PostgreSQL docs "Logical Replication
 *   Message Formats"): every message into typed structs, tuple values as text pointing into
 *   the message buffer, a relation cache keyed by OID.
 */
#ifndef DIP_PGREPL_H
#define DIP_PGREPL_H

#include "core/core.h"
#include "pg/pg.h"

#include <libpq-fe.h>

/* ---------------------------------------------------------------- LSNs */

typedef uint64_t PgLsn; /* a WAL position (XLogRecPtr); 0 = invalid */

/* "X/X" as PostgreSQL prints pg_lsn values; out holds at least 24 bytes. */
void pgrepl_lsn_format(PgLsn lsn, char out[24]);
/* Parses "X/X" (hex halves); false on anything else. */
bool pgrepl_lsn_parse(const char *s, PgLsn *out);

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 00:00:00 UTC). */
#define PGREPL_EPOCH_OFFSET_US INT64_C(946684800000000)

/* ---------------------------------------------------------------- the replication connection */

typedef struct PgReplSystem {
    char systemid[32]; /* the cluster's system identifier, decimal */
    int timeline;
    PgLsn xlogpos; /* current WAL flush position */
    char dbname[128];
} PgReplSystem;

typedef struct PgReplSlot {
    char slot_name[64];
    PgLsn consistent_point; /* changes committed after this LSN are streamed; the snapshot
                               shows everything committed before it */
    char snapshot_name[64]; /* exported snapshot: valid until the next command on this
                               connection (import it with SET TRANSACTION SNAPSHOT first) */
} PgReplSlot;

typedef struct PgReplStats {
    int64_t xlogdata_messages;
    int64_t keepalives;        /* primary keepalive messages received */
    int64_t keepalive_replies; /* keepalives with reply requested, answered */
    int64_t status_updates;    /* standby status updates sent */
    int64_t bytes_received;    /* pgoutput payload bytes */
} PgReplStats;

typedef struct PgRepl {
    PgConn pc;                /* replication=database connection (simple query protocol only) */
    int server_version;       /* PQserverVersion, e.g. 150018 */
    int proto_version;        /* pgoutput protocol chosen by pgrepl_start: 2 on >= 14, else 1 */
    bool streaming;           /* inside START_REPLICATION's COPY BOTH */
    bool streamed_once;       /* START_REPLICATION ran on this connection (one per connection) */
    char slot[64];            /* the slot being streamed */
    PgLsn received_lsn;       /* highest WAL position seen (XLogData start or keepalive end) */
    PgLsn confirmed_lsn;      /* what the caller confirmed: reported as write, flush and apply */
    PgLsn reported_lsn;       /* last flush position sent to the server */
    double status_interval_s; /* standby status update period (default 10 s; must stay well
                                 below the server's wal_sender_timeout, default 60 s) */
    double last_status_s;     /* dip_now_s() of the last status update */
    char *copybuf;            /* the current PQgetCopyData buffer (freed on the next read) */
    PgReplStats stats;
} PgRepl;

/* Opens a replication connection (replication=database) with the settings of every dip
 * connection (DIP_PG_CONNINFO or PG* variables, POSTGRES_CONNECTION_TIMEOUT). */
bool pgrepl_connect(PgRepl *r, const PgSettings *s, DipError *err) DIP_MUST_CHECK;
void pgrepl_close(PgRepl *r);

/* IDENTIFY_SYSTEM. */
bool pgrepl_identify_system(PgRepl *r, PgReplSystem *out, DipError *err) DIP_MUST_CHECK;

/* TIMELINE_HISTORY tli: the LSN at which timeline from_tli ended (where the history of tli
 * branched off it); *found false when from_tli is not in tli's history (a timeline of
 * another lineage, or tli <= from_tli). */
bool pgrepl_timeline_switch(PgRepl *r, int tli, int from_tli, PgLsn *switch_lsn, bool *found,
                            DipError *err) DIP_MUST_CHECK;
/* The switch point of from_tli in a timeline history file's text (exposed for tests). */
bool pgrepl_history_switch(const char *history, int tli, PgLsn *switch_lsn);

/* A slot name PostgreSQL accepts: 1..63 of [a-z0-9_]. False with a config error otherwise. */
bool pgrepl_slot_name_check(const char *slot, DipError *err) DIP_MUST_CHECK;
/* CREATE_REPLICATION_SLOT slot [TEMPORARY] LOGICAL pgoutput EXPORT_SNAPSHOT: a slot whose
 * consistent point and exported snapshot are returned. A temporary slot disappears with this
 * connection (or on any error in it). An existing slot of that name is a data error naming it
 * (SQLSTATE 42710). */
bool pgrepl_slot_create(PgRepl *r, const char *slot, bool temporary, PgReplSlot *out,
                        DipError *err) DIP_MUST_CHECK;
/* DROP_REPLICATION_SLOT slot (fails while another connection streams from it). */
bool pgrepl_slot_drop(PgRepl *r, const char *slot, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- slot health (SQL) */

/* These run simple-protocol SQL, so they work on an ordinary connection and on a replication
 * connection that is not streaming (&repl->pc). */

typedef struct PgSlotHealth {
    bool exists;
    bool active;            /* a walsender streams from it now */
    char plugin[64];        /* output plugin ("pgoutput") */
    char wal_status[16];    /* reserved | extended | unreserved | lost */
    bool invalidated;       /* restart_lsn is NULL: the slot cannot stream any more */
    PgLsn restart_lsn;      /* oldest WAL the slot keeps */
    PgLsn confirmed_flush;  /* what the consumer confirmed */
    int64_t retained_bytes; /* pg_current_wal_lsn() - restart_lsn */
    int64_t safe_wal_size;  /* bytes left before max_slot_wal_keep_size; -1 = no limit */
    bool two_phase;         /* sends prepared transactions at PREPARE, on every stream: set
                               once any client streamed it with two_phase, then kept */
} PgSlotHealth;

bool pgrepl_slot_exists(PgConn *c, const char *slot, bool *exists, DipError *err) DIP_MUST_CHECK;
bool pgrepl_slot_health(PgConn *c, const char *slot, PgSlotHealth *out,
                        DipError *err) DIP_MUST_CHECK;
/* Fails when the slot is missing (DIP_ERR_NOT_FOUND) or lost / invalidated (DIP_ERR_DATA),
 * with a message naming the slot and the way back (drop it and rebuild with --reindex). */
bool pgrepl_slot_check(PgConn *c, const char *slot, PgSlotHealth *out,
                       DipError *err) DIP_MUST_CHECK;
/* pg_logical_emit_message(false, 'dip.heartbeat', <time>): a non-transactional WAL record
 * in the slot's database, so a consumer of an otherwise idle database receives something
 * to confirm and the slot does not pin WAL written by other databases. Returns its LSN. */
#define PGREPL_HEARTBEAT_PREFIX "dip.heartbeat"
bool pgrepl_heartbeat(PgConn *c, PgLsn *lsn, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- streaming */

typedef struct PgReplStart {
    const char *slot;
    PgLsn start_lsn;                 /* 0 = from the slot's confirmed_flush_lsn */
    const char *const *publications; /* names as created (quoted here) */
    int npublications;
    int proto_version; /* 0 = 2 when the server is >= 14, else 1; 3 (>= 15) and 4 (>= 16)
                          only when asked for */
    bool streaming;    /* ask for streaming of large in-progress transactions
                          (protocol 2 and later) */
    bool messages;     /* pass pg_logical_emit_message records */
    bool two_phase;    /* decode prepared transactions at PREPARE (protocol 3 and later;
                          the slot keeps two_phase from then on). dip sync-es never asks */
} PgReplStart;

/* Checks the slot (pgrepl_slot_check), then START_REPLICATION SLOT s LOGICAL lsn
 * (proto_version, publication_names, streaming, messages). The confirmed position starts at
 * the greater of start_lsn and the slot's confirmed_flush_lsn. Once per connection: after
 * pgrepl_stop the connection still runs commands, but a walsender ends a second
 * START_REPLICATION at once, so streaming again needs a new connection. */
bool pgrepl_start(PgRepl *r, const PgReplStart *opt, DipError *err) DIP_MUST_CHECK;

typedef enum {
    PGREPL_EV_TIMEOUT = 0, /* nothing arrived within the timeout */
    PGREPL_EV_DATA,        /* XLogData: one pgoutput message in data/len */
    PGREPL_EV_KEEPALIVE,   /* primary keepalive (already answered when a reply was asked) */
    PGREPL_EV_END,         /* the server ended the stream (COPY done) */
} PgReplEventKind;

typedef struct PgReplEvent {
    PgReplEventKind kind;
    PgLsn wal_start;      /* DATA: WAL position of the message */
    PgLsn wal_end;        /* DATA and KEEPALIVE: the server's current end of WAL */
    int64_t send_time_us; /* server clock, Unix epoch microseconds */
    bool reply_requested; /* KEEPALIVE */
    const uint8_t *data;  /* DATA: valid until the next pgrepl_next / pgrepl_stop */
    size_t len;
} PgReplEvent;

/* Waits up to timeout_ms (bounded, poll on the socket) for the next message. Keepalives
 * asking for a reply are answered, and a status update is sent whenever status_interval_s
 * passed. A lost connection is a transient error. */
bool pgrepl_next(PgRepl *r, int timeout_ms, PgReplEvent *ev, DipError *err) DIP_MUST_CHECK;

/* Records that everything up to lsn is durable downstream (never moves back). Reported in
 * the next status update; pgrepl_send_status() reports it now. */
void pgrepl_confirm(PgRepl *r, PgLsn lsn);
bool pgrepl_send_status(PgRepl *r, bool reply_requested, DipError *err) DIP_MUST_CHECK;

/* Ends the stream cleanly: a last status update, CopyDone, then drains what the server still
 * sends (at most timeout_ms) until it ends the COPY too. The connection is usable again. */
bool pgrepl_stop(PgRepl *r, int timeout_ms, DipError *err) DIP_MUST_CHECK;

/* Parses one CopyData message of the stream ('w' or 'k') into ev (data points into p).
 * Exposed for tests and the fuzzer. */
bool pgrepl_parse_copydata(const uint8_t *p, size_t n, PgReplEvent *ev,
                           DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- pgoutput decoder */

typedef enum {
    PGO_BEGIN = 'B',
    PGO_COMMIT = 'C',
    PGO_ORIGIN = 'O',
    PGO_RELATION = 'R',
    PGO_TYPE = 'Y',
    PGO_INSERT = 'I',
    PGO_UPDATE = 'U',
    PGO_DELETE = 'D',
    PGO_TRUNCATE = 'T',
    PGO_MESSAGE = 'M',
    PGO_STREAM_START = 'S',
    PGO_STREAM_STOP = 'E',
    PGO_STREAM_COMMIT = 'c',
    PGO_STREAM_ABORT = 'A',
    PGO_BEGIN_PREPARE = 'b', /* protocol 3 (two-phase), and the four below */
    PGO_PREPARE = 'P',
    PGO_COMMIT_PREPARED = 'K',
    PGO_ROLLBACK_PREPARED = 'r',
    PGO_STREAM_PREPARE = 'p',
} PgoKind;

/* Tuple value kinds, as on the wire. */
#define PGO_VALUE_NULL 'n'
#define PGO_VALUE_UNCHANGED 'u' /* an unchanged TOASTed value: not sent, keep the old one */
#define PGO_VALUE_TEXT 't'
#define PGO_VALUE_BINARY 'b'

typedef struct PgoValue {
    char kind;        /* PGO_VALUE_* */
    uint32_t len;     /* text / binary: byte length */
    const char *data; /* text / binary: points into the message buffer, NOT NUL-terminated */
} PgoValue;

typedef struct PgoTuple {
    int ncols;
    const PgoValue *values; /* owned by the decoder, valid until the next pgoutput_decode */
} PgoTuple;

#define PGO_COLUMN_KEY 1 /* column flag: part of the replica identity key */

typedef struct PgoColumn {
    uint8_t flags; /* PGO_COLUMN_KEY */
    const char *name;
    uint32_t type_oid;
    int32_t typmod;
} PgoColumn;

typedef struct PgoRelation {
    uint32_t oid;
    const char *nspname; /* "pg_catalog" when the message carried "" */
    const char *relname;
    char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    int ncols;
    const PgoColumn *cols;
} PgoRelation;

typedef struct PgoMessage {
    PgoKind kind;
    bool has_xid; /* the transaction id: Begin, streamed changes, Stream * and two-phase messages */
    uint32_t xid;
    union {
        struct {
            PgLsn final_lsn;        /* LSN of the commit record */
            int64_t commit_time_us; /* Unix epoch microseconds */
        } begin;
        struct {
            uint8_t flags;
            PgLsn commit_lsn; /* LSN of the commit record */
            PgLsn end_lsn;    /* end of the commit record: what to confirm once applied */
            int64_t commit_time_us;
        } commit; /* Commit and Stream Commit */
        struct {
            PgLsn lsn; /* commit LSN on the origin server */
            const char *name;
        } origin;
        const PgoRelation *relation; /* Relation: the cached entry (replaced the old one) */
        struct {
            uint32_t oid;
            const char *nspname;
            const char *name;
        } type;
        struct {
            const PgoRelation *rel;
            char old_kind; /* Update / Delete: 'K' old key, 'O' old row, 0 none */
            PgoTuple old_tuple;
            PgoTuple new_tuple; /* Insert / Update */
        } change;               /* Insert, Update, Delete */
        struct {
            uint8_t options; /* 1 CASCADE, 2 RESTART IDENTITY */
            bool cascade;
            bool restart_identity;
            int nrels;
            const uint32_t *oids; /* owned by the decoder; look each up with pgoutput_relation */
        } truncate;
        struct {
            uint8_t flags;
            bool transactional;
            PgLsn lsn;
            const char *prefix;
            const uint8_t *content; /* into the message buffer */
            uint32_t content_len;
        } message;
        struct {
            bool first_segment; /* the first stream block of this transaction */
        } stream_start;
        struct {
            uint32_t subxid; /* == xid when the whole transaction aborted */
            PgLsn abort_lsn; /* protocol 4 with parallel streaming, else 0 */
            int64_t abort_time_us;
        } stream_abort;
        struct {
            uint8_t flags;
            /* Begin Prepare, Prepare, Stream Prepare: the PREPARE record and its end;
             * Commit Prepared: the COMMIT PREPARED record and its end;
             * Rollback Prepared: the end of the PREPARE record and of the ROLLBACK PREPARED */
            PgLsn lsn;
            PgLsn end_lsn;
            int64_t time_us;          /* prepare time; commit time for Commit Prepared */
            int64_t rollback_time_us; /* Rollback Prepared */
            const char *gid;          /* the global transaction id (into the message) */
        } prepare;                    /* the two-phase messages (xid in m->xid) */
    } u;
} PgoMessage;

typedef struct PgoRelEntry PgoRelEntry;

typedef struct PgoDecoder {
    int proto_version;  /* 1 to 4 */
    bool in_stream;     /* between Stream Start and Stream Stop: changes carry an xid */
    PgoRelEntry **rels; /* open-addressing table keyed by OID */
    size_t rels_cap;
    size_t rels_len;
    PgoValue *old_values; /* reused tuple value arrays (no allocation per row) */
    PgoValue *new_values;
    int values_cap;
    uint32_t *oids; /* reused Truncate OID list */
    int oids_cap;
} PgoDecoder;

/* A decoder for protocol versions 1 to 4 (PostgreSQL 14: 2 streaming, 15: 3 two-phase,
 * 16: 4 parallel streaming); any other version is a DIP_ERR_DATA error. */
bool pgoutput_decoder_init(PgoDecoder *d, int proto_version, DipError *err) DIP_MUST_CHECK;
void pgoutput_decoder_free(PgoDecoder *d);
/* Decodes one pgoutput message (the payload of one XLogData). Pointers in *m point into p
 * (keep it alive while using m) or into the decoder (valid until the next call; relation
 * entries until a Relation message replaces them). Errors are DIP_ERR_DATA naming the message
 * type and the byte offset. */
bool pgoutput_decode(PgoDecoder *d, const uint8_t *p, size_t n, PgoMessage *m,
                     DipError *err) DIP_MUST_CHECK;
/* The cached relation for oid, NULL when no Relation message described it yet. */
const PgoRelation *pgoutput_relation(const PgoDecoder *d, uint32_t oid);
/* "Begin", "Insert", ... for messages and logs; "unknown" otherwise. */
const char *pgoutput_kind_name(int kind);

#endif /* DIP_PGREPL_H */
