/// Builds a message's MIME tree from its lines, one line at a time, without keeping bodies.
///
/// A stack of open parts: each is reading its header, its body, or — for a multipart — the
/// parts between its boundaries. Every line is first checked against the delimiters of every
/// open multipart, innermost first (RFC 2046 section 5.1.1: a boundary may not occur inside
/// an encapsulated part, so an outer boundary closes everything inside it). Memory is bounded
/// by `MIMELimits`: kept header bytes per open part, nesting depth and the number of parts.
struct MIMEStructureParser {
    private enum State {
        case header
        case body
        /// A multipart before its close delimiter: preamble or between parts.
        case multipart
        /// A multipart after its close delimiter, or one that stopped splitting.
        case epilogue
    }

    private struct Frame {
        var start: Int
        var headerBytes: [UInt8] = []
        var headerTruncated = false
        var state: State = .header
        var part: MIMEPart?
        var lineCount = 0
        var defaultType: MIMEContentType
        var delimiter: [UInt8]?
        var children: [MIMEPart] = []
    }

    private let limits: MIMELimits
    private var stack: [Frame]
    private var partCount = 1
    private var previousTerminatorLength = 0
    private var root: MIMEPart?

    init(limits: MIMELimits) {
        self.limits = limits
        stack = [Frame(start: 0, defaultType: .textPlain)]
    }

    /// Takes the next line; returns whether later lines matter beyond their number: not
    /// once the innermost part is in its body and no open multipart waits for a delimiter,
    /// as then no line can begin or end a part.
    mutating func consume(_ line: MIMELineSplitter.Line) -> Bool {
        defer { previousTerminatorLength = line.terminatorLength }
        if let (index, isClose) = matchingDelimiter(line) {
            handleDelimiter(at: index, isClose: isClose, line: line)
            countLine()
            return true
        }
        countLine()
        if stack[stack.count - 1].state == .header { consumeHeaderLine(line) }
        return stack[stack.count - 1].state != .body || stack.contains { $0.delimiter != nil }
    }

    /// Closes every open part at the end of input and returns the root; `countedLines`
    /// came after `consume` said that only their number matters.
    mutating func finish(totalLength: Int, countedLines: Int = 0) -> MIMEPart {
        for index in stack.indices where stack[index].state != .header { stack[index].lineCount += countedLines }
        while !stack.isEmpty { closeTop(end: totalLength, atDelimiter: false) }
        return root ?? MIMEPart(header: MessageHeader(), headerRange: MIMEByteRange(offset: 0, length: 0))
    }

    // MARK: - Lines

    private mutating func countLine() {
        for index in stack.indices where stack[index].state != .header { stack[index].lineCount += 1 }
    }

    private mutating func consumeHeaderLine(_ line: MIMELineSplitter.Line) {
        let top = stack.count - 1
        if line.length == 0 && line.terminatorLength > 0 {
            endHeader(bodyStart: line.offset + line.terminatorLength)
            return
        }
        if stack[top].headerBytes.count + line.bytes.count + 1 > limits.maximumHeaderBytes || line.bytes.count < line.length {
            stack[top].headerTruncated = true
        }
        if !stack[top].headerTruncated {
            stack[top].headerBytes += line.bytes
            stack[top].headerBytes.append(UInt8(ascii: "\n"))
        }
    }

    /// The innermost open multipart whose delimiter (`--boundary`, or `--boundary--` to close)
    /// this line is, with trailing whitespace allowed (RFC 2046 section 5.1.1).
    private func matchingDelimiter(_ line: MIMELineSplitter.Line) -> (Int, Bool)? {
        guard line.bytes.count == line.length, line.length >= 3,
              line.bytes[0] == UInt8(ascii: "-"), line.bytes[1] == UInt8(ascii: "-") else { return nil }
        var end = line.bytes.count
        while end > 0, line.bytes[end - 1] == 0x20 || line.bytes[end - 1] == 0x09 { end -= 1 }
        let content = line.bytes[..<end]
        for index in stack.indices.reversed() {
            guard let delimiter = stack[index].delimiter, content.starts(with: delimiter) else { continue }
            let rest = content.dropFirst(delimiter.count)
            if rest.isEmpty { return (index, false) }
            if rest.elementsEqual([UInt8(ascii: "-"), UInt8(ascii: "-")]) { return (index, true) }
        }
        return nil
    }

    private mutating func handleDelimiter(at index: Int, isClose: Bool, line: MIMELineSplitter.Line) {
        let end = line.offset - previousTerminatorLength
        while stack.count > index + 1 { closeTop(end: end, atDelimiter: true) }
        guard stack[index].state == .multipart else { return }  // a delimiter in the epilogue: ignore
        if isClose {
            stack[index].state = .epilogue
        } else if partCount >= limits.maximumParts {
            stack[index].state = .epilogue
            stack[index].part?.defects.insert(.partLimit)
        } else {
            partCount += 1
            let digest = stack[index].part?.contentType.subtype == "digest"
            stack.append(Frame(start: line.offset + line.length + line.terminatorLength,
                               defaultType: digest ? .messageRFC822 : .textPlain))
        }
    }

    // MARK: - Opening and closing parts

    private mutating func endHeader(bodyStart: Int) {
        let top = stack.count - 1
        var part = makePart(stack[top], headerEnd: bodyStart)
        stack[top].state = .body
        let depth = stack.count - 1
        if part.contentType.isMultipart, let boundary = part.contentType.boundary {
            if depth < limits.maximumDepth {
                stack[top].state = .multipart
                stack[top].delimiter = Array("--\(boundary)".utf8)
            } else {
                part.defects.insert(.depthLimit)
            }
        } else if part.contentType.isEncapsulatedMessage {
            if depth >= limits.maximumDepth {
                part.defects.insert(.depthLimit)
            } else if partCount >= limits.maximumParts {
                part.defects.insert(.partLimit)
            } else {
                partCount += 1
                stack[top].part = part
                stack.append(Frame(start: bodyStart, defaultType: .textPlain))
                return
            }
        }
        stack[top].part = part
    }

    private func makePart(_ frame: Frame, headerEnd: Int) -> MIMEPart {
        let header = MessageHeader.parse(frame.headerBytes)
        var part = MIMEPart(header: header, headerRange: MIMEByteRange(offset: frame.start, length: headerEnd - frame.start),
                            defaultType: frame.defaultType)
        if frame.headerTruncated { part.defects.insert(.headerTruncated) }
        return part
    }

    /// Closes the innermost open part with its body ending at `end` and hands it to its parent.
    private mutating func closeTop(end: Int, atDelimiter: Bool) {
        var frame = stack.removeLast()
        var part: MIMEPart
        if let parsed = frame.part {
            part = parsed
        } else {
            // The header never ended: everything seen is header, the body is empty.
            let headerEnd = max(frame.start, end)
            part = makePart(frame, headerEnd: headerEnd)
            part.defects.insert(.missingHeaderEnd)
            frame.lineCount = 0
        }
        let bodyStart = part.bodyRange.offset
        part.bodyRange = MIMEByteRange(offset: bodyStart, length: max(0, end - bodyStart))
        part.bodyLineCount = part.bodyRange.length == 0 ? 0 : frame.lineCount
        part.parts = frame.children
        if frame.state == .multipart { part.defects.insert(.missingFinalBoundary) }
        if stack.isEmpty {
            root = part
        } else {
            stack[stack.count - 1].children.append(part)
        }
    }
}
