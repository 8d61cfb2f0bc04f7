import NIOCore

/// The bytes a connector's channel handler has read and not yet framed.
struct ConnectorReadBuffer {
    var bytes = ByteBuffer()

    /// Adds a read; the read itself becomes the buffer when nothing is left over.
    mutating func append(_ incoming: ByteBuffer) {
        if bytes.readableBytes == 0 {
            bytes = incoming
        } else {
            var incoming = incoming
            bytes.writeBuffer(&incoming)
        }
    }

    /// After framing: an emptied buffer is reset, and framed bytes are dropped once they are
    /// many, so a long session does not keep growing its buffer.
    mutating func compact() {
        if bytes.readableBytes == 0 {
            bytes.clear()
        } else if bytes.readerIndex > 65_536 {
            bytes.discardReadBytes()
        }
    }

    /// Drops everything (bytes that arrived in plain text before a TLS handshake).
    mutating func clear() {
        bytes.clear()
    }
}

/// A connector's response timeout: one scheduled expiry on the channel's event loop, armed
/// while a response is due and a read is outstanding, stopped when bytes come.
struct ConnectorResponseClock {
    let timeout: TimeAmount
    private var task: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    var seconds: Double { Double(timeout.nanoseconds) / 1e9 }

    /// Starts the clock again; `expired` runs on the event loop if it runs out.
    mutating func restart(on eventLoop: any EventLoop, _ expired: @escaping () -> Void) {
        task?.cancel()
        task = eventLoop.assumeIsolated().scheduleTask(in: timeout, expired)
    }

    mutating func stop() {
        task?.cancel()
        task = nil
    }
}
