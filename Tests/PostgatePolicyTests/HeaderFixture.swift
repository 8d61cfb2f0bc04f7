import PostgateMessage

/// A parsed header section made of `(name, value)` fields, as a message would carry them.
func header(_ fields: [(String, String)]) -> MessageHeader {
    MessageHeader.parse(Array(fields.map { "\($0.0): \($0.1)\r\n" }.joined().utf8) + [13, 10])
}
