import GRDB

/// Fetches and updates through the connection's prepared-statement cache.
///
/// Preparing a statement (parsing it, resolving names against the schema, asking GRDB's
/// authorizer about every column) cost more than running it on the delivery path: each
/// message runs a few dozen small queries. `Database.cachedStatement(sql:)` prepares each
/// text once per connection and resets it for reuse; SQLite re-prepares it by itself after
/// a schema change. Only for SQL whose text is fixed: a statement built from a varying list
/// (`IN (?, ?, …)`) would fill the cache with one entry per length.
extension Database {
    /// `execute(sql:arguments:)` for one fixed statement, prepared once per connection.
    package func execute(cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension Row {
    /// `fetchOne(_:sql:arguments:)` for fixed SQL, prepared once per connection.
    package static func fetchOne(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// `fetchAll(_:sql:arguments:)` for fixed SQL, prepared once per connection.
    package static func fetchAll(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Row] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension DatabaseValueConvertible {
    /// `fetchOne(_:sql:arguments:)` for fixed SQL, prepared once per connection.
    package static func fetchOne(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// `fetchAll(_:sql:arguments:)` for fixed SQL, prepared once per connection.
    package static func fetchAll(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}
