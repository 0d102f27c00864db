import EspyGossipWire

// memberlist's wire as a node receives it: UDP datagrams (encryption, CRC, compress/LZW,
// compound nesting, msgpack bodies) and TCP stream frames (push/pull, user messages, errors),
// plus the Serf messages and tags inside them.
//
// Input: a mode byte, then the bytes received. Modes: a datagram in the clear; a datagram
// to a node with a key (the bytes as sent, and the bytes sealed with that key); a stream fed
// in cuts; a stream sealed as one encrypted frame.
// Checked beyond "no crash": sealing then opening changes nothing a node decodes, and what a
// node decodes, sent again (compressed, with a checksum, encrypted), decodes the same.

private let keyring = try! Keyring(primaryKey: Array(0..<32), otherKeys: [Array(repeating: 7, count: 16)])
private let nonce: [UInt8] = Array(0x10..<0x1c)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGossipPacket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let received = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let version: EncryptionVersion = mode & 0x10 != 0 ? .padded : .unpadded
    switch mode % 4 {
    case 0:
        guard let packet = try? GossipPacket.decode(received, keyring: nil) else { return 0 }
        inspect(packet.messages)
        checkResent(packet.messages)
    case 1:
        _ = try? GossipPacket.decode(received, keyring: keyring)
        let plain = try? GossipPacket.decode(received, keyring: nil)
        guard let sealed = try? keyring.encrypt(received, version: version, nonce: nonce) else { return 0 }
        let opened = try? GossipPacket.decode(sealed, keyring: keyring)
        fuzzCheck(opened == plain, "encryption changes the decoded packet: \(String(describing: plain)) vs \(String(describing: opened))")
    case 2:
        guard let message = readStream(received, cuts: mode >> 2) else { return 0 }
        inspect(message)
        for compress in [false, true] {
            let options = StreamOptions(compress: compress, keyring: compress ? keyring : nil, encryptionVersion: version)
            guard let framed = try? StreamFraming.encode(message, options: options, nonce: nonce) else { continue }
            let again = try? StreamFraming.decode(framed, keyring: options.keyring)
            fuzzCheck(again == .complete(message, consumedByteCount: framed.count), "a stream message does not survive being sent again")
        }
    default:
        let plain = try? StreamFraming.decode(received, keyring: nil)
        guard let framed = try? StreamFraming.encryptFrame(received, keyring: keyring, version: version, nonce: nonce) else { return 0 }
        let opened = try? StreamFraming.decode(framed, keyring: keyring)
        if case .complete(let message, let consumed)? = plain, consumed == received.count {
            fuzzCheck(opened == .complete(message, consumedByteCount: framed.count), "encryption changes the decoded stream message")
        }
    }
    return 0
}

/// Feeds a stream as a node reads it: everything received so far, after each read.
private func readStream(_ received: [UInt8], cuts: UInt8) -> StreamMessage? {
    let step = Int(cuts % 16) * 7 + 1
    var end = 0
    while end < received.count {
        end = min(received.count, end + step)
        switch try? StreamFraming.decode(Array(received[..<end]), keyring: nil) {
        case .complete(let message, let consumed)?:
            fuzzCheck(consumed <= end, "consumed \(consumed) of \(end) bytes")
            return message
        case .needMoreBytes?: continue
        case nil: return nil
        }
    }
    return nil
}

private func checkResent(_ messages: [PacketMessage]) {
    guard !messages.isEmpty else { return }
    for message in messages {
        fuzzCheck((try? PacketMessage(message: message.encoded())) == message, "\(message) does not survive encoding")
    }
    let options = PacketOptions(compress: true, addChecksum: true, keyring: keyring)
    guard let packet = try? GossipPacket.encode(messages, options: options, nonce: nonce) else { return }
    let again = try? GossipPacket.decode(packet, keyring: keyring)
    fuzzCheck(again?.messages == messages && again?.problems == [], "a packet sent again decodes differently")
}

/// What the gossip core reads next: Serf tags in members' meta, Serf intents in user messages.
private func inspect(_ messages: [PacketMessage]) {
    for message in messages {
        switch message {
        case .alive(let alive): _ = try? SerfTags.decode(alive.meta)
        case .user(let payload):
            _ = try? SerfLeaveIntent(userPayload: payload)
            _ = try? SerfJoinIntent(userPayload: payload)
        default: break
        }
    }
}

private func inspect(_ message: StreamMessage) {
    switch message {
    case .pushPull(let pushPull):
        for node in pushPull.nodes { _ = try? SerfTags.decode(node.meta) }
    case .user(let payload):
        inspect([.user(payload)])
    default: break
    }
}
