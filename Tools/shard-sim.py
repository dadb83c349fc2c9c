#!/usr/bin/env python3
"""How a clinic network's traffic would spread over a sharded PostgreSQL (Citus), events distributed by patient.

A simulation, not a measurement: a regional hub of C clinics, each with a server, L clinician laptops and one home
device per patient under treatment; a day's work per clinic; pushes are the batches devices send (a laptop's sync
carries every patient it saw since its last sync; a home device's carries one patient). Prints, for S shards, how
many shards each kind of request touches. docs/postgresql-sharding.md quotes its output.

Usage: Tools/shard-sim.py [--clinics 20] [--patients-per-clinic 500] [--shards 32] [--seed 7]
"""
import argparse
import random
import statistics


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clinics", type=int, default=20)
    parser.add_argument("--patients-per-clinic", type=int, default=500)
    parser.add_argument("--laptops", type=int, default=4)
    parser.add_argument("--shards", type=int, default=32)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    shard_of = {}

    def shard(patient):
        # Citus hashes the distribution column into shard ranges; a uniform hash is what matters here.
        if patient not in shard_of:
            shard_of[patient] = rng.randrange(options.shards)
        return shard_of[patient]

    laptop_push, home_push, server_push, origin_shards = [], [], [], {}
    for day in range(options.days):
        for clinic in range(options.clinics):
            patients = [f"c{clinic}-p{n}" for n in range(options.patients_per_clinic)]
            seen_today = rng.sample(patients, k=max(1, len(patients) // 25))  # ~20 visits a day at 500 patients
            for laptop in range(options.laptops):
                # A laptop syncs every ~2 hours during an 8-hour day: 4 pushes, each with the patients seen since.
                share = seen_today[laptop::options.laptops]
                for part in range(4):
                    batch = share[part::4]
                    if batch:
                        laptop_push.append(len({shard(p) for p in batch}))
                        origin_shards.setdefault(f"c{clinic}-l{laptop}", set()).update(shard(p) for p in batch)
            # Home devices: a third of the patients report something each day (pain, a side effect): one patient each.
            for patient in rng.sample(patients, k=len(patients) // 3):
                home_push.append(1)
            # The clinic's own server replicates everything it received today to the hub in one session.
            server_push.append(len({shard(p) for p in seen_today}))

    def line(name, values):
        print(f"| {name} | {len(values)} | {statistics.mean(values):.1f} | {max(values)} |")

    print(f"{options.clinics} clinics × {options.patients_per_clinic} patients, {options.laptops} laptops each, "
          f"{options.days} days, {options.shards} shards (seed {options.seed})")
    print()
    print("| request | count | shards touched, mean | max |")
    print("|---|---:|---:|---:|")
    line("home device push (one patient)", home_push)
    line("laptop push (patients seen since its last sync)", laptop_push)
    line("clinic server → hub replication (a day's patients)", server_push)
    spans = [len(s) for s in origin_shards.values()]
    print()
    print(f"Shards a laptop's chain spans after {options.days} days: mean {statistics.mean(spans):.1f} of "
          f"{options.shards}, min {min(spans)}: an origin's chain is spread over nearly every shard.")


if __name__ == "__main__":
    main()
