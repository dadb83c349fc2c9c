#ifndef PROLO_CSQLITE_SHIM_H
#define PROLO_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a cast macro Swift cannot import: SQLite copies the bound bytes.
static inline sqlite3_destructor_type prolo_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Variadic sqlite3_db_config wrapper for integer options: SQLiteConnection turns SQLITE_DBCONFIG_DEFENSIVE on
/// with it for every connection it opens.
static inline int prolo_sqlite_db_config_int(sqlite3 *db, int op, int value, int *out) {
    return sqlite3_db_config(db, op, value, out);
}
#endif
