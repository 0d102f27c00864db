import EspyGossipWire
import EspyLoop

/// One gossip TCP stream: as a client, connect, send a request and read one framed reply; as
/// a server, read one framed request and send the reply. A timer bounds the whole exchange.
final class StreamExchange {
    private let loop: EventLoop
    private let keyring: Keyring?
    private let timeoutMilliseconds: UInt64
    private var connection: TCPConnection?
    private var timer: Timer?
    private var received: [UInt8] = []
    private var completion: ((Result<StreamMessage, GossipTransportError>) -> Void)?
    /// Called once, when the exchange is over and its connection and timer are closed.
    var onFinished: () -> Void = {}

    init(loop: EventLoop, keyring: Keyring?, timeoutMilliseconds: UInt64) {
        self.loop = loop
        self.keyring = keyring
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    func run(request: [UInt8], to address: SocketAddress,
             completion: @escaping (Result<StreamMessage, GossipTransportError>) -> Void) {
        self.completion = completion
        startTimer()
        TCPConnection.connect(loop: loop, to: address) { [self] result in
            switch result {
            case .failure(let error):
                fail("connect to \(address): \(error.name)")
            case .success(let connection):
                guard self.completion != nil else { return connection.close() }
                self.connection = connection
                connection.write(request)
                readMessage(from: connection)
            }
        }
    }

    func serve(_ connection: TCPConnection, completion: @escaping (Result<StreamMessage, GossipTransportError>) -> Void) {
        self.connection = connection
        self.completion = completion
        startTimer()
        readMessage(from: connection)
    }

    /// Sends the server's reply; the client closes once it has read it, and the timer closes
    /// our side if it does not.
    func reply(_ bytes: [UInt8]) {
        connection?.write(bytes) { [weak self] _ in self?.connection?.shutdownWrites { _ in } }
    }

    private func startTimer() {
        let timer = Timer(loop: loop)
        self.timer = timer
        timer.start(after: timeoutMilliseconds) { [weak self] in
            self?.fail("stream timed out")
            self?.finish()
        }
    }

    private func readMessage(from connection: TCPConnection) {
        connection.startReading { [weak self] event in
            guard let self else { return }
            switch event {
            case .data(let bytes):
                received.append(contentsOf: bytes)
                do {
                    if case .complete(let message, _) = try StreamFraming.decode(received, keyring: keyring) {
                        let completion = self.completion
                        self.completion = nil
                        completion?(.success(message))
                    }
                } catch {
                    fail("bad stream: \(error)")
                    finish()
                }
            case .end:
                fail("peer closed the stream")
                finish()
            case .failed(let error):
                fail("stream read: \(error.name)")
                finish()
            }
        }
    }

    private func fail(_ reason: String) {
        let completion = self.completion
        self.completion = nil
        completion?(.failure(GossipTransportError(reason)))
    }

    func finish() {
        timer?.close()
        timer = nil
        connection?.close()
        connection = nil
        let onFinished = self.onFinished
        self.onFinished = {}
        onFinished()
    }
}
