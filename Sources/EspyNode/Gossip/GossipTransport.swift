import EspyGossipWire
import EspyLoop

/// The gossip sockets of a node: one UDP socket and one TCP listener on the same address and
/// port (spec §1). Packets go in and out as bytes; TCP streams carry one request and one
/// response each, framed (compressed, encrypted) here.
final class GossipTransport {
    typealias StreamHandler = (StreamMessage, SocketAddress, _ reply: @escaping (StreamMessage?) -> Void) -> Void

    private let loop: EventLoop
    private let udp: UDPSocket
    private var listener: TCPListener?
    private let streamOptions: StreamOptions
    /// Set by the owner once it is ready; until then packets and streams are dropped.
    var onPacket: ([UInt8], SocketAddress) -> Void = { _, _ in }
    var onStream: StreamHandler = { _, _, reply in reply(nil) }
    private var openStreams: [ObjectIdentifier: StreamExchange] = [:]

    var localAddress: SocketAddress { udp.localAddress }

    init(loop: EventLoop, address: SocketAddress, keyring: Keyring?) throws {
        self.loop = loop
        self.streamOptions = StreamOptions(compress: true, keyring: keyring)
        udp = try UDPSocket(loop: loop, address: address)
        do {
            // Bind TCP to the port UDP actually got, so port 0 yields one port for both.
            listener = try TCPListener(loop: loop, address: udp.localAddress) { [unowned self] connection in
                self.accept(connection)
            }
            try udp.startReceiving { [unowned self] bytes, peer in self.onPacket(Array(bytes), peer) }
        } catch {
            udp.close()
            listener?.close()
            throw error
        }
    }

    func sendPacket(_ bytes: [UInt8], to address: SocketAddress) {
        udp.send(bytes, to: address)
    }

    /// Opens a stream to `address`, sends `message`, and completes with the peer's reply.
    func exchange(_ message: StreamMessage, with address: SocketAddress, timeoutMilliseconds: UInt64,
                  completion: @escaping (Result<StreamMessage, GossipTransportError>) -> Void) {
        let request: [UInt8]
        do { request = try StreamFraming.encode(message, options: streamOptions) } catch {
            return completion(.failure(GossipTransportError("cannot encode stream message: \(error)")))
        }
        let exchange = StreamExchange(loop: loop, keyring: streamOptions.keyring, timeoutMilliseconds: timeoutMilliseconds)
        let key = ObjectIdentifier(exchange)
        openStreams[key] = exchange
        exchange.run(request: request, to: address) { [weak self] result in
            exchange.finish()  // the connecting side closes once it has the reply (spec §1)
            self?.openStreams[key] = nil
            completion(result)
        }
    }

    private func accept(_ connection: TCPConnection) {
        let peer = connection.peerAddress
        let exchange = StreamExchange(loop: loop, keyring: streamOptions.keyring, timeoutMilliseconds: 10_000)
        let key = ObjectIdentifier(exchange)
        openStreams[key] = exchange
        exchange.serve(connection) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure:
                exchange.finish()
                self.openStreams[key] = nil
            case .success(let message):
                self.onStream(message, peer ?? self.localAddress) { [weak self] reply in
                    guard let self else { return }
                    if let reply, let bytes = try? StreamFraming.encode(reply, options: self.streamOptions) {
                        exchange.reply(bytes)
                    } else {
                        exchange.finish()
                    }
                    self.openStreams[key] = nil
                }
            }
        }
    }

    func close() {
        udp.close()
        listener?.close()
        listener = nil
        for exchange in openStreams.values { exchange.finish() }
        openStreams = [:]
    }
}

struct GossipTransportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
