extension StringProtocol {
    /// Whether the two strings are equal when ASCII letters are compared without case, as
    /// protocol keywords and header field names are (RFC 5322 section 1.2.2; field names
    /// are ASCII). Other bytes must match exactly. Compares the UTF-8 bytes in place:
    /// no lowercased copies.
    public func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
        }
    }
}
