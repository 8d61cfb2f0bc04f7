/// Streams a message body through the body canonicalization of RFC 6376 section 3.4.3
/// (simple) or 3.4.4 (relaxed): feed chunks of any size, in order; `finish()` emits what
/// the end of the body decides (the trailing CRLF rules).
///
/// Memory is bounded: empty lines are counted, not kept, and at most one whitespace run is
/// pending. A line ends at CRLF; a lone LF is also taken as a line end (files with Unix
/// line ends sign like their CRLF form), and a lone CR is content.
struct DKIMBodyCanonicalizer {
    let algorithm: DKIMCanonicalization
    private var pendingLineEnds = 0
    private var pendingSpace = false
    private var pendingCR = false
    private var lineHasContent = false
    private var anyOutput = false

    init(_ algorithm: DKIMCanonicalization) {
        self.algorithm = algorithm
    }

    /// Canonicalizes `bytes`, appending the result to `output`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        for byte in bytes {
            if pendingCR {
                pendingCR = false
                if byte == 0x0A { endLine(); continue }
                content(0x0D, into: &output)
            }
            switch byte {
            case 0x0D: pendingCR = true
            case 0x0A: endLine()
            case 0x20 where algorithm == .relaxed, 0x09 where algorithm == .relaxed: pendingSpace = true
            default: content(byte, into: &output)
            }
        }
    }

    /// The end of the body: the final CRLF, or none for an empty relaxed body.
    mutating func finish(into output: inout [UInt8]) {
        if pendingCR { content(0x0D, into: &output); pendingCR = false }
        switch algorithm {
        case .simple:
            output += [0x0D, 0x0A]
        case .relaxed:
            if anyOutput { output += [0x0D, 0x0A] }
        }
        pendingLineEnds = 0
        pendingSpace = false
        lineHasContent = false
    }

    @inline(__always)
    private mutating func content(_ byte: UInt8, into output: inout [UInt8]) {
        while pendingLineEnds > 0 {
            output.append(0x0D)
            output.append(0x0A)
            pendingLineEnds -= 1
        }
        if pendingSpace {
            output.append(0x20)
            pendingSpace = false
        }
        output.append(byte)
        lineHasContent = true
        anyOutput = true
    }

    @inline(__always)
    private mutating func endLine() {
        pendingLineEnds += 1
        pendingSpace = false
        lineHasContent = false
    }
}
