import Foundation
import ProloDomain
import ProloProjections

/// One patient's rows of the research export, from their events in clinical order (retracted facts out, amended ones
/// corrected) and their treatment state.
struct ResearchRecord {
    private static let day: Int64 = 86_400_000

    /// Days since the epoch of the UTC calendar day of an instant.
    static func calendarDay(_ milliseconds: Int64) -> Int64 {
        Timestamp(millisecondsSinceEpoch: milliseconds).day.daysSinceEpoch
    }
    private(set) var measurementRows: [[String?]] = []
    private(set) var sessionRows: [[String?]] = []
    let summaryRow: [String?]

    init(events: PatientEvents, policy: TreatmentPolicy) {
        let facts = events.entries
            .filter { !events.retracted.contains($0.id) && $0.event.patient == events.patient }
            .compactMap { entry in
                events.effectivePayload(of: entry).map {
                    (time: entry.event.occurredAt.millisecondsSinceEpoch, payload: $0)
                }
            }
            .enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        let injections = facts.compactMap { fact in
            (fact.payload as? InjectionAdministered).map { (time: fact.time, injection: $0) }
        }
        let first = injections.first?.time
        func day(_ time: Int64) -> String? {
            first.map { String(Self.calendarDay(time) - Self.calendarDay($0)) }
        }
        func session(_ time: Int64) -> String { String(injections.filter { $0.time <= time }.count) }
        var scores: [(time: Int64, instrument: String, score: Int)] = []
        for fact in facts {
            switch fact.payload {
            case let exam as ExamRecorded:
                scores.append((fact.time, "nrs", exam.painNRS.value))
                scores.append((fact.time, "odi", exam.odi.value))
                for (instrument, score) in [("nrs", exam.painNRS.value), ("odi", exam.odi.value)] {
                    measurementRows.append([
                        instrument, String(score), day(fact.time), session(fact.time), "exam", "clinician",
                    ])
                }
            case let pain as PainReported:
                scores.append((fact.time, pain.instrument.rawValue, pain.score))
                measurementRows.append([
                    pain.instrument.rawValue, String(pain.score), day(fact.time), session(fact.time), "report",
                    pain.reporter.role.rawValue,
                ])
            default: break
            }
        }
        let sideEffects = facts.compactMap { fact in (fact.payload as? SideEffectReported) }
        for (index, (time, injection)) in injections.enumerated() {
            func before(_ instrument: String) -> String? {
                scores.last { $0.instrument == instrument && $0.time <= time }.map { String($0.score) }
            }
            let window = sideEffects.filter {
                let onset = $0.onset.millisecondsSinceEpoch
                return onset >= time && onset <= time + 14 * Self.day
            }
            sessionRows.append([
                String(index + 1), day(time), FHIRExport.number(injection.proliferant.dextroseMgPerMl.value),
                injection.proliferant.lidocaineMgPerMl.map { FHIRExport.number($0.value) },
                String(injection.sites.count),
                FHIRExport.number(injection.totalVolumeMl), before("nrs"), before("odi"), String(window.count),
                window.map(\.grade.value).max().map(String.init),
            ])
        }
        let state = events.treatmentState(policy: policy)
        func percent(_ value: Double?) -> String? { value.map { String(format: "%.1f", $0) } }
        summaryRow = [
            String(state.injectionsTotal), state.baselinePain.nrs.map(String.init),
            state.latestPain.nrs.map(String.init),
            percent(state.improvementPercent.nrs), state.baselinePain.odi.map(String.init),
            state.latestPain.odi.map(String.init), percent(state.improvementPercent.odi), String(state.responder),
        ]
    }
}
