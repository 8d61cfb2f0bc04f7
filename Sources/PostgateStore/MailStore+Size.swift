import PostgateIndex
import PostgateMaildir

/// How many bytes the store holds, for `/metrics`.
extension MailStore {
    /// The message copies' sizes as the index records them (one sum, no walk of the
    /// Maildirs), and the SQLite index file with its WAL. Blocks: call on the thread pool.
    public func storeSize() throws(StoreError) -> (messages: Int64, index: Int64) {
        let messages = try index.messageBytes()
        var indexBytes: Int64 = 0
        for path in [data.databasePath, data.databasePath + "-wal"] where FileSystem.exists(path) {
            indexBytes += Int64(try FileSystem.sizeAndModificationTime(path).size)
        }
        return (messages, indexBytes)
    }
}
