import CSQLite
import Foundation

/// A value bound to, or read from, an SQLite statement.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var int: Int? { if case let .integer(v) = self { return Int(v) }; return nil }
    public var int64: Int64? { if case let .integer(v) = self { return v }; return nil }
    public var double: Double? {
        switch self {
        case let .real(v): return v
        case let .integer(v): return Double(v)
        default: return nil
        }
    }
    public var string: String? { if case let .text(v) = self { return v }; return nil }
    public var isNull: Bool { self == .null }
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(nilLiteral: ()) { self = .null }
}

public extension SQLValue {
    init(_ v: Int) { self = .integer(Int64(v)) }
    init(_ v: Int64) { self = .integer(v) }
    init(_ v: Double) { self = .real(v) }
    init(_ v: String) { self = .text(v) }
    init(_ v: Bool) { self = .integer(v ? 1 : 0) }
    init(_ v: String?) { self = v.map { .text($0) } ?? .null }
    init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }
    init(_ v: Double?) { self = v.map { .real($0) } ?? .null }
}

/// One result row: values by column name (and by position).
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]
    public subscript(_ name: String) -> SQLValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
    public subscript(_ index: Int) -> SQLValue { values[index] }
}

/// A small, safe wrapper over one SQLite connection (Debian's libsqlite3).
///
/// The database is opened in WAL mode with `synchronous=FULL`, so a committed transaction survives a
/// `kill -9` or a power cut, and with foreign keys on. Every call is serialised on one lock, so the
/// connection can be shared between threads and tasks; `transaction` holds the lock for its whole body
/// (BEGIN IMMEDIATE ... COMMIT, rolled back if the body throws), so another thread's statement never
/// lands inside someone else's transaction. Keep transactions short: the lock is held throughout.
///
/// Errors are `DJCoreError.store` with SQLite's own message and the statement that failed.
public final class SQLiteDatabase: @unchecked Sendable {
    public let path: String
    private nonisolated(unsafe) let db: OpaquePointer
    /// Serialises every use of `db`. `NSRecursiveLock` so that statements inside `transaction` (which
    /// holds it) go through the same `query`.
    private let lock = NSRecursiveLock()

    /// Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory one.
    public init(path: String) throws {
        self.path = path
        if path != ":memory:" {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw DJCoreError.store("cannot open the database \(path): \(msg)")
        }
        sqlite3_busy_timeout(db, 5000)
        self.db = db
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        sqlite3_close_v2(db)
    }

    /// Runs `sql` (one statement) with `params` bound to its `?` placeholders; returns the rows.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLValue] = []) throws -> [SQLRow] {
        lock.lock()
        defer { lock.unlock() }
        return try Self.run(db, sql, params)
    }

    /// Runs `sql` (one statement) for its effect.
    public func execute(_ sql: String, _ params: [SQLValue] = []) throws {
        try query(sql, params)
    }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE: writers queue up behind it); commits when it
    /// returns, rolls back when it throws. Statements inside go through `query`/`execute` as usual.
    /// Not nestable: SQLite refuses a BEGIN inside a transaction (the error says so).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        _ = try Self.run(db, "BEGIN IMMEDIATE", [])
        do {
            let result = try body()
            _ = try Self.run(db, "COMMIT", [])
            return result
        } catch {
            _ = try? Self.run(db, "ROLLBACK", [])
            throw error
        }
    }

    /// The rowid of the last INSERT on this connection.
    public var lastInsertRowID: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return sqlite3_last_insert_rowid(db)
    }

    /// Rows changed by the last statement.
    public var changes: Int {
        lock.lock()
        defer { lock.unlock() }
        return Int(sqlite3_changes(db))
    }

    /// The schema version (PRAGMA user_version).
    public func userVersion() throws -> Int {
        try query("PRAGMA user_version").first?[0].int ?? 0
    }

    /// Brings the schema up to date: runs `migrations[i]` (each a list of statements) for every i at or
    /// above the stored user_version, each in its own transaction, and records the new version.
    public func migrate(_ migrations: [[String]]) throws {
        let current = try userVersion()
        guard current <= migrations.count else {
            throw DJCoreError.store("the database \(path) has schema version \(current), newer than this djd knows (\(migrations.count)); use a newer djd")
        }
        for v in current..<migrations.count {
            try transaction {
                for sql in migrations[v] { try execute(sql) }
                try execute("PRAGMA user_version = \(v + 1)")
            }
        }
    }

    private static func run(_ db: OpaquePointer, _ sql: String, _ params: [SQLValue]) throws -> [SQLRow] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw DJCoreError.store("\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
        }
        defer { sqlite3_finalize(stmt) }
        let expected = Int(sqlite3_bind_parameter_count(stmt))
        guard expected == params.count else {
            throw DJCoreError.store("\(params.count) values given for \(expected) placeholders in: \(sql)")
        }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case let .integer(v): rc = sqlite3_bind_int64(stmt, idx, v)
            case let .real(v): rc = sqlite3_bind_double(stmt, idx, v)
            case let .text(v): rc = sqlite3_bind_text(stmt, idx, v, -1, csqlite_transient())
            case let .blob(v):
                rc = v.withUnsafeBytes { sqlite3_bind_blob(stmt, idx, $0.baseAddress, Int32($0.count), csqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw DJCoreError.store("\(String(cString: sqlite3_errmsg(db))) binding value \(i + 1) in: \(sql)") }
        }
        let n = Int(sqlite3_column_count(stmt))
        let columns = (0..<n).map { String(cString: sqlite3_column_name(stmt, Int32($0))) }
        var rows: [SQLRow] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw DJCoreError.store("\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
            }
            var values: [SQLValue] = []
            values.reserveCapacity(n)
            for c in 0..<Int32(n) {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(stmt, c)))
                case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                case SQLITE_BLOB:
                    let len = Int(sqlite3_column_bytes(stmt, c))
                    if let p = sqlite3_column_blob(stmt, c) {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: p, count: len))))
                    } else { values.append(.blob([])) }
                default: values.append(.null)
                }
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }
}
