import ArgumentParser
import Foundation
import ProloDomain
import ProloExport
import ProloStore
import ProloSync

/// The exit codes of every `prolo` command (sysexits.h values), documented in the README.
enum ExitStatus: Int32 {
    case ok = 0
    case usage = 64
    case dataError = 65
    case noInput = 66
    case software = 70
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    case permissionDenied = 77
}

/// A failure the CLI reports on stderr as `prolo: error: …` before exiting with its status.
struct Failure: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: StoreError) {
        let status: ExitStatus =
            switch error.code {
            case .storeNotFound, .eventNotFound: .noInput
            case .notAStore, .newerSchema, .invalidInput, .chainConflict: .dataError
            case .cannotCreate: .cannotCreate
            case .busy: .temporaryFailure
            case .ioError: .ioError
            case .permissionDenied: .permissionDenied
            case .internalError: .software
            }
        self.init(status, error.message)
    }

    init(_ error: PayloadError, source: String) {
        switch error.code {
        case .malformedJSON: self.init(.dataError, "\(source): \(error.message)")
        case .schemaViolation: self.init(.dataError, "\(source): invalid at \(error.path): \(error.message)")
        case .unknownType: self.init(.usage, error.message)
        }
    }
}

/// Runs a command body, turning every error into a message on stderr and a meaningful exit code.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as Failure {
        throw report(failure)
    } catch let error as StoreError {
        throw report(Failure(error))
    } catch let error as SyncError {
        throw report(Failure(error))
    } catch let error as BundleError {
        throw report(Failure(error))
    } catch let error as FHIRExportError {
        throw report(Failure(error))
    } catch let error as PayloadError {
        throw report(Failure(error, source: "input"))
    } catch let error as IdentityError {
        throw report(Failure(StoreError(error)))
    } catch let error as ExitCode {
        throw error
    } catch {
        throw report(Failure(.software, "unexpected error: \(error)"))
    }
}

private func report(_ failure: Failure) -> ExitCode {
    FileHandle.standardError.write(Data("prolo: error: \(failure.message)\n".utf8))
    return ExitCode(failure.status.rawValue)
}

/// Prints a line on stdout.
func say(_ text: String) {
    print(text)
}

/// ``guarded(_:)`` for async command bodies.
func guardedAsync(_ body: () async throws -> Void) async throws {
    var failure: (any Error)?
    do {
        try await body()
    } catch {
        failure = error
    }
    if let failure { try guarded { throw failure } }
}
