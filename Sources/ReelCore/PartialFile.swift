import Glibc

/// Where a file is written until it is complete: a hidden name next to it
/// (`folder/.NAME.partial`), renamed to `path` once every byte is in, so that a file
/// that could not be finished (a full disk) never stands under the name of a whole one.
/// `path` itself when it is there and not a regular file (`/dev/null`, a FIFO): a
/// rename would replace the device with a file.
package func partialFileName(for path: String) -> String {
    var status = stat()
    if stat(path, &status) == 0 && status.st_mode & S_IFMT != S_IFREG { return path }
    guard let slash = path.lastIndex(of: "/") else { return ".\(path).partial" }
    return "\(path[...slash]).\(path[path.index(after: slash)...]).partial"
}
