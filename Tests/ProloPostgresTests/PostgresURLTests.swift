import Foundation
import ProloPostgres
import ProloStore
import Testing

@Suite("PostgreSQL URLs as libpq reads them")
struct PostgresURLTests {
    @Test("a TCP URL gives user, password, host, port, database and sslmode; the password never shows")
    func tcp() throws {
        #expect(try PostgresURL("postgresql://prolo@db/hub?sslmode=verify-full").sslMode == "verify-full")
        #expect(try PostgresURL("postgresql://prolo@db/hub").sslMode == "prefer")
        let url = try PostgresURL("postgresql://prolo:s%40cret@db.clinic.lan:6543/hub?sslmode=require")
        #expect(url.user == "prolo")
        #expect(url.password == "s@cret")
        #expect(url.host == "db.clinic.lan")
        #expect(url.port == 6543)
        #expect(url.database == "hub")
        #expect(url.sslMode == "require")
        #expect(url.redacted == "postgresql://prolo@db.clinic.lan:6543/hub")
        #expect(!"\(url)".contains("cret"))
    }

    @Test("an empty host or ?host=/folder is the Unix socket in that folder; postgres:// is accepted")
    func socket() throws {
        let implicit = try PostgresURL("postgres://prolo@/hub")
        #expect(implicit.host == nil)
        #expect(implicit.socketFolder == "/var/run/postgresql")
        let explicit = try PostgresURL("postgresql://prolo@/hub?host=/tmp/pg&sslmode=disable")
        #expect(explicit.host == nil)
        #expect(explicit.socketFolder == "/tmp/pg")
        #expect(explicit.redacted == "postgresql://prolo@/tmp/pg/.s.PGSQL.5432/hub")
        #expect(explicit.database("other").database == "other")
        #expect(explicit.database("other").socketFolder == "/tmp/pg")
    }

    @Test(
        "what is not a PostgreSQL URL is invalid-input naming what is wrong, with the password hidden",
        arguments: [
            ("mysql://u:pw@h/db", "expected postgresql://"),
            ("postgresql://u:pw@h", "database name"),
            ("postgresql://u:pw@h/db?sslmode=maybe", "sslmode must be"),
            ("postgresql://u:pw@h/db?sslmode=verify-ca", "sslmode must be"),
            ("postgresql://u:pw@h/db?hots=/tmp", "unknown parameter hots"),
        ])
    func refused(_ text: String, _ why: String) {
        #expect {
            try PostgresURL(text)
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .invalidInput && error?.message.contains(why) == true
                && error?.message.contains("pw") == false
        }
    }
}
