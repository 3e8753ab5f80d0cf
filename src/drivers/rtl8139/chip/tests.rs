//! The driver's own code against the chip model (src/drivers/rtl8139/chip_model.rs): the
//! normal paths, and the faults QEMU never produces.

use super::*;
use crate::drivers::rtl8139::chip_model::{ChipModel, TxBehaviour};
use crate::drivers::rtl8139::rx_ring::RX_STALL_TIMEOUT_MS;
use crate::drivers::rtl8139::rx_ring::ring_model::frame;
use crate::drivers::rtl8139::tx_slots::TX_TIMEOUT_MS;

/// IMR while all is well: every event the driver handles but TOK, which is unmasked only
/// while all four transmit slots are busy.
const USUAL_MASK: u16 = INT_HANDLED & !INT_TX_OK;

/// A driver started on a fresh model, interrupts enabled.
fn started() -> Rtl8139<ChipModel> {
    let mut nic = Rtl8139::start(ChipModel::new()).expect("the model resets at once");
    nic.enable_interrupts();
    nic
}

fn model(nic: &mut Rtl8139<ChipModel>) -> &mut ChipModel {
    nic.chip_mut()
}

/// Every frame the driver has queued, oldest first.
fn received(nic: &mut Rtl8139<ChipModel>) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut buffer = [0u8; 1518];
    while let Some(len) = nic.receive(&mut buffer) {
        frames.push(buffer[..len].to_vec());
    }
    frames
}

#[test]
fn brings_the_chip_up_and_receives_a_frame() {
    let mut nic = started();
    assert_eq!(nic.mac(), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    assert!(nic.link_up());
    assert_eq!(model(&mut nic).imr, USUAL_MASK);
    let sent = frame(100, 1);
    assert!(model(&mut nic).receive(&sent));
    assert!(nic.service_interrupt());
    assert_eq!(received(&mut nic), [sent]);
    assert_eq!(model(&mut nic).isr, 0, "every event acknowledged");
    assert!(
        model(&mut nic).rok_acknowledged_after_capr(),
        "ROK acknowledged before CAPR moved"
    );
    assert_eq!(nic.stats().interrupts, 1);
}

#[test]
fn an_interrupt_with_nothing_pending_is_another_devices() {
    let mut nic = started();
    assert!(!nic.service_interrupt());
    // An event the driver masked is not its interrupt either.
    model(&mut nic).isr = 1 << 14;
    assert!(!nic.service_interrupt());
    assert_eq!(nic.stats().interrupts, 0);
}

/// The race between the last BUFE check and the acknowledgement: a frame that lands just
/// before ROK is cleared must still be taken, without waiting for another frame.
#[test]
fn a_frame_arriving_as_rok_is_acknowledged_is_not_stranded() {
    let mut nic = started();
    model(&mut nic).receive(&frame(80, 1));
    model(&mut nic).receive_on_isr_write = Some(frame(90, 2));
    assert!(nic.service_interrupt());
    assert_eq!(received(&mut nic), [frame(80, 1), frame(90, 2)]);
}

/// A batch of frames costs one CBR read to find them, one CAPR write to give their space
/// back, and one CBR read to see that nothing came meanwhile: not three port accesses each.
#[test]
fn a_batch_of_frames_costs_one_capr_write_and_two_cbr_reads() {
    let mut nic = started();
    let frames: Vec<Vec<u8>> = (0..5).map(|i| frame(60 + i, i as u8)).collect();
    for f in &frames {
        model(&mut nic).receive(f);
    }
    let (capr_before, cbr_before) = (
        model(&mut nic).writes_to(CAPR),
        model(&mut nic).reads_of(CBR),
    );
    assert!(nic.service_interrupt());
    assert_eq!(model(&mut nic).writes_to(CAPR) - capr_before, 1);
    assert_eq!(model(&mut nic).reads_of(CBR) - cbr_before, 2);
    let chip = model(&mut nic);
    assert_eq!(chip.read_offset, chip.write_offset, "all given back");
    assert!(model(&mut nic).rok_acknowledged_after_capr());
    assert_eq!(received(&mut nic), frames);
}

/// A batch that runs across the end of the ring is given back like any other: one CAPR write
/// for the whole batch, 16 bytes behind the offset after its last packet (the datasheet's
/// CAPR trails the read pointer by 16), wrapped at the end of the ring.
#[test]
fn a_batch_across_the_end_of_the_ring_is_given_back_with_one_capr_write() {
    let mut nic = started();
    // Frames taken one at a time until the chip writes near the end of the ring.
    let mut seed = 0u8;
    while model(&mut nic).write_offset < RX_RING_LEN - 3000 {
        assert!(model(&mut nic).receive(&frame(1000, seed)));
        seed = seed.wrapping_add(1);
        assert!(nic.service_interrupt());
        assert_eq!(received(&mut nic).len(), 1);
    }
    let start = model(&mut nic).write_offset;
    let frames: Vec<Vec<u8>> = (0..4).map(|i| frame(1200, 200 + i)).collect();
    for f in &frames {
        assert!(model(&mut nic).receive(f));
    }
    let end = model(&mut nic).write_offset;
    assert!(end < start, "the batch runs across the end of the ring");
    let capr_before = model(&mut nic).writes_to(CAPR);
    assert!(nic.service_interrupt());
    assert_eq!(model(&mut nic).writes_to(CAPR) - capr_before, 1);
    let (_, capr) = *model(&mut nic)
        .writes
        .iter()
        .rev()
        .find(|(register, _)| *register == CAPR)
        .expect("CAPR written");
    assert_eq!(capr as u16, (end as u16).wrapping_sub(16));
    let chip = model(&mut nic);
    assert_eq!(chip.read_offset, chip.write_offset, "all given back");
    assert_eq!(received(&mut nic), frames);
}

/// Frames that arrive while the driver works through a batch are seen by the CBR read that
/// follows the batch's CAPR write, and taken in the same drain.
#[test]
fn frames_arriving_during_a_drain_are_taken_by_it() {
    let mut nic = started();
    model(&mut nic).receive(&frame(80, 1));
    model(&mut nic).receive(&frame(81, 2));
    model(&mut nic).on_capr_write = Some(Box::new(|chip: &mut ChipModel| {
        chip.receive(&frame(82, 3));
        chip.on_capr_write = Some(Box::new(|chip: &mut ChipModel| {
            chip.receive(&frame(83, 4));
        }));
    }));
    let capr_before = model(&mut nic).writes_to(CAPR);
    assert!(nic.service_interrupt());
    assert_eq!(
        model(&mut nic).writes_to(CAPR) - capr_before,
        3,
        "one per batch: two frames, then one, then one"
    );
    assert_eq!(
        received(&mut nic),
        [frame(80, 1), frame(81, 2), frame(82, 3), frame(83, 4)]
    );
}

/// A packet the chip had not finished when the batch's CBR was read is not a stalled one:
/// CBR is read again before the stall clock starts, and the packet, finished meanwhile, is
/// taken in the same drain with no deadline left behind.
#[test]
fn a_packet_finished_after_cbr_was_read_is_taken_without_a_stall() {
    let mut nic = started();
    model(&mut nic).receive(&frame(64, 1));
    model(&mut nic).receive_unfinished(300, false, 100);
    model(&mut nic).on_capr_write = Some(Box::new(|chip: &mut ChipModel| {
        chip.finish_unfinished(&frame(300, 2));
    }));
    assert!(nic.service_interrupt());
    assert_eq!(received(&mut nic), [frame(64, 1), frame(300, 2)]);
    assert_eq!(nic.watchdog(), None, "no stall clock running");
    assert_eq!(nic.stats().rx_stalls, 0);
    assert_eq!(nic.stats().receiver_resets, 0);
}

#[test]
fn a_damaged_header_resets_the_receiver_and_reception_goes_on() {
    let mut nic = started();
    model(&mut nic).receive(&frame(80, 1));
    model(&mut nic).ring[..2].copy_from_slice(&0u16.to_le_bytes());
    nic.service_interrupt();
    assert_eq!(nic.stats().rx_bad_headers, 1);
    assert_eq!(nic.stats().receiver_resets, 1);
    model(&mut nic).receive(&frame(70, 2));
    nic.service_interrupt();
    assert_eq!(received(&mut nic), [frame(70, 2)]);
}

/// A header the chip never finishes: the driver waits, within RX_STALL_TIMEOUT_MS, then
/// resets the receiver, even though no other interrupt comes (the watchdog notices).
fn stuck_header_is_reset_within_the_bound(still_copying: bool, written: usize) {
    let mut nic = started();
    model(&mut nic).receive(&frame(64, 1));
    model(&mut nic).receive_unfinished(200, still_copying, written);
    let start = model(&mut nic).now_ms;
    assert!(nic.service_interrupt());
    assert_eq!(
        received(&mut nic),
        [frame(64, 1)],
        "the good frame before it"
    );
    assert_eq!(nic.stats().receiver_resets, 0, "a header may take a moment");
    let due = nic.watchdog().expect("a deadline for the waiting header");
    assert!(
        due <= RX_STALL_TIMEOUT_MS,
        "asks to be called within the bound"
    );
    model(&mut nic).now_ms = start + RX_STALL_TIMEOUT_MS - 1;
    assert_eq!(nic.watchdog(), Some(1));
    assert_eq!(nic.stats().receiver_resets, 0);
    model(&mut nic).now_ms = start + RX_STALL_TIMEOUT_MS;
    assert_eq!(nic.watchdog(), None, "nothing waits any more");
    assert_eq!(nic.stats().rx_stalls, 1);
    assert_eq!(nic.stats().receiver_resets, 1);
    assert_eq!(model(&mut nic).rcr_writes, 2, "start, then the reset");
    model(&mut nic).receive(&frame(66, 3));
    assert!(nic.service_interrupt());
    assert_eq!(received(&mut nic), [frame(66, 3)], "reception goes on");
}

#[test]
fn a_header_still_copying_is_reset_within_the_bound() {
    stuck_header_is_reset_within_the_bound(true, 16);
}

#[test]
fn a_length_beyond_what_cbr_says_was_written_is_reset_within_the_bound() {
    stuck_header_is_reset_within_the_bound(false, 64);
}

#[test]
fn ring_overflows_are_counted_with_the_missed_frames() {
    let mut nic = started();
    let big = frame(1500, 0);
    let mut stored = 0;
    while model(&mut nic).receive(&big) {
        stored += 1;
    }
    model(&mut nic).receive(&big);
    assert!(nic.service_interrupt());
    assert_eq!(nic.stats().rx_ring_overflows, 1);
    assert_eq!(nic.stats().rx_missed, 2);
    assert_eq!(received(&mut nic).len(), stored);
    assert_eq!(model(&mut nic).mpc, 0, "MPC cleared once counted");
}

/// More frames than the queue holds: the driver masks the receive interrupts instead of
/// copying frames only to drop them, the stack's receive calls take the rest from the ring,
/// and the interrupts come back once the ring is empty. Nothing is lost or reordered.
#[test]
fn a_full_queue_pauses_the_receive_interrupts_until_the_stack_catches_up() {
    let mut nic = started();
    let frames: Vec<Vec<u8>> = (0..RX_QUEUE_FRAMES + 40)
        .map(|i| frame(60 + i % 7, i as u8))
        .collect();
    for f in &frames {
        assert!(model(&mut nic).receive(f));
    }
    assert!(nic.service_interrupt());
    assert_eq!(nic.stats().rx_pauses, 1);
    assert_eq!(model(&mut nic).imr, USUAL_MASK & !INT_RX_EVENTS);
    // Paused: new frames raise ROK, but it is masked: not the driver's interrupt.
    assert!(model(&mut nic).receive(&frame(61, 0xee)));
    assert!(!nic.service_interrupt());
    let mut expected = frames.clone();
    expected.push(frame(61, 0xee));
    assert_eq!(received(&mut nic), expected);
    assert_eq!(
        model(&mut nic).imr,
        USUAL_MASK,
        "unmasked once the ring is empty"
    );
    assert_eq!(nic.stats().rx_dropped, 0);
    model(&mut nic).receive(&frame(62, 1));
    assert!(nic.service_interrupt(), "interrupts work again");
    assert_eq!(received(&mut nic), [frame(62, 1)]);
}

#[test]
fn short_frames_are_padded_and_a_busy_slot_is_never_overwritten() {
    let mut nic = started();
    model(&mut nic).tx_behaviour = TxBehaviour::Hang;
    for i in 0..TX_SLOT_COUNT {
        assert_eq!(nic.transmit(&[i as u8 + 1; 42]), Ok(()));
    }
    assert!(!nic.can_transmit());
    assert_eq!(nic.transmit(&[9; 42]), Err(TxError::Busy));
    assert!(!model(&mut nic).busy_buffer_overwritten);
    assert_eq!(
        nic.stats().tx_dropped_full,
        0,
        "the backlog above counts drops"
    );
    let slot0 = &model(&mut nic).tx_buffers[0][..60];
    assert_eq!(&slot0[..42], &[1; 42]);
    assert_eq!(&slot0[42..], &[0; 18]);
}

/// A frame made in place goes into the slot's own buffer, which it gets zeroed: neither the
/// padding of a short frame nor the bytes it leaves unwritten carry what a longer frame left
/// there. A frame refused (slots busy, too long) is never written, and a busy slot is not
/// touched.
#[test]
fn a_frame_made_in_place_fills_the_slot_and_is_padded_over_stale_bytes() {
    let mut nic = started();
    for i in 0..TX_SLOT_COUNT {
        nic.transmit(&[0xaa; 1000][..1000 - i]).unwrap();
    }
    let mut calls = 0;
    let mut seen_only_zeros = false;
    nic.transmit_with(42, &mut |buffer| {
        calls += 1;
        seen_only_zeros = buffer.iter().all(|&b| b == 0);
        // An Ethernet header, and nothing written after it.
        buffer[..14].fill(0x11)
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert!(
        seen_only_zeros,
        "lent zeroed, not with the old frame's bytes"
    );
    let mut expected = vec![0x11; 14];
    expected.resize(60, 0);
    assert_eq!(model(&mut nic).sent.last(), Some(&expected));
    assert_eq!(&model(&mut nic).tx_buffers[0][..60], &expected[..]);
    model(&mut nic).tx_behaviour = TxBehaviour::Hang;
    for _ in 1..TX_SLOT_COUNT {
        nic.transmit(&frame(70, 1)).unwrap();
    }
    nic.transmit(&frame(70, 1)).unwrap();
    assert_eq!(
        nic.transmit_with(60, &mut |_| calls += 1),
        Err(TxError::Busy)
    );
    assert_eq!(
        nic.transmit_with(2000, &mut |_| calls += 1),
        Err(TxError::TooLong)
    );
    assert_eq!(calls, 1, "refused frames are not written");
    assert!(!model(&mut nic).busy_buffer_overwritten);
}

/// A transmission aborted twice (collisions) is sent again each time with TCR.CLRABT, and
/// then goes out: counted as two retries and one frame sent.
#[test]
fn an_aborted_transmission_is_retried_with_clrabt() {
    let mut nic = started();
    model(&mut nic).tx_behaviour = TxBehaviour::Abort(2);
    nic.transmit(&frame(100, 5)).unwrap();
    assert!(nic.service_interrupt());
    let stats = nic.stats();
    assert_eq!(stats.tx_aborts_retried, 2);
    assert_eq!(stats.tx_packets, 1);
    assert_eq!(stats.tx_errors, 0);
    assert_eq!(model(&mut nic).sent, [frame(100, 5)]);
    let clear_aborts = model(&mut nic)
        .writes
        .iter()
        .filter(|&&(register, value)| register == TCR && value & TCR_CLEAR_ABORT != 0)
        .count();
    assert_eq!(clear_aborts, 2);
    assert_eq!(model(&mut nic).chip_resets, 1, "only the reset at start");
}

/// A frame that keeps aborting is given up after TX_ABORT_RETRIES, and the chip, stopped in
/// its abort state, is reset and programmed again; sending works afterwards.
#[test]
fn a_transmission_aborted_past_its_retries_resets_the_chip() {
    let mut nic = started();
    model(&mut nic).tx_behaviour = TxBehaviour::Abort(100);
    nic.transmit(&frame(100, 5)).unwrap();
    assert!(nic.service_interrupt());
    let stats = nic.stats();
    assert_eq!(stats.tx_aborts_retried, u64::from(TX_ABORT_RETRIES));
    assert_eq!(stats.tx_errors, 1);
    assert_eq!(model(&mut nic).chip_resets, 2, "start, then the recovery");
    assert_eq!(model(&mut nic).imr, USUAL_MASK, "interrupts as they were");
    model(&mut nic).tx_behaviour = TxBehaviour::Send;
    nic.transmit(&frame(70, 6)).unwrap();
    assert!(
        !nic.service_interrupt(),
        "a frame sent raises no interrupt while slots are free"
    );
    assert_eq!(model(&mut nic).sent, [frame(70, 6)]);
}

/// While slots are free, a frame sent raises no interrupt (TOK is masked), and the slots are
/// taken back only when all four are busy: one summary read (TSAD) for four frames, and no
/// TSD read at all.
#[test]
fn sent_frames_raise_no_interrupt_and_one_summary_read_takes_four_slots_back() {
    let mut nic = started();
    let imr_writes = model(&mut nic).writes_to(IMR);
    for i in 0..TX_SLOT_COUNT {
        nic.transmit(&frame(1000, i as u8)).unwrap();
    }
    assert_eq!(model(&mut nic).sent.len(), TX_SLOT_COUNT);
    assert_ne!(model(&mut nic).isr & INT_TX_OK, 0, "the chip raised TOK...");
    assert!(!nic.service_interrupt(), "...but it is masked");
    assert_eq!(
        model(&mut nic).reads_of(TX_SUMMARY),
        0,
        "nothing reclaimed yet"
    );
    nic.transmit(&frame(1000, 9)).unwrap();
    assert_eq!(model(&mut nic).reads_of(TX_SUMMARY), 1);
    let tsd_reads: usize = (0..TX_SLOT_COUNT)
        .map(|slot| model(&mut nic).reads_of(TSD0 + 4 * slot as u16))
        .sum();
    assert_eq!(tsd_reads, 0);
    assert_eq!(
        model(&mut nic).writes_to(IMR),
        imr_writes,
        "TOK never unmasked"
    );
    let stats = nic.stats();
    assert_eq!(stats.tx_packets, TX_SLOT_COUNT as u64 + 1);
    assert_eq!(stats.tx_bytes, 1000 * (TX_SLOT_COUNT as u64 + 1));
    assert_eq!(stats.interrupts, 0);
    assert!(!model(&mut nic).busy_buffer_overwritten);
}

/// All four slots still the chip's: TOK is unmasked, so that the completion interrupts (and
/// wakes whoever waits for a slot); the interrupt frees the slots and masks TOK again. A TOK
/// left set by completions long reclaimed is cleared first and does not interrupt.
#[test]
fn four_busy_slots_unmask_tok_and_its_interrupt_frees_them() {
    let mut nic = started();
    nic.transmit(&frame(60, 0)).unwrap();
    model(&mut nic).tx_behaviour = TxBehaviour::Hang;
    for i in 1..=TX_SLOT_COUNT {
        nic.transmit(&frame(60, i as u8)).unwrap();
    }
    assert!(!nic.can_transmit());
    assert_eq!(model(&mut nic).imr, INT_HANDLED, "TOK unmasked");
    assert!(!nic.service_interrupt(), "the stale TOK was cleared");
    assert_eq!(nic.transmit(&frame(60, 9)), Err(TxError::Busy));
    model(&mut nic).resume_sending();
    assert!(nic.service_interrupt(), "the completion interrupts");
    assert_eq!(model(&mut nic).imr, USUAL_MASK, "TOK masked again");
    assert!(nic.can_transmit());
    assert_eq!(nic.stats().tx_packets, TX_SLOT_COUNT as u64 + 1);
    assert_eq!(model(&mut nic).sent.len(), TX_SLOT_COUNT + 1);
}

/// A failed transmission interrupts even with TOK masked (TER is not), and the reclaim it
/// triggers walks every slot from the oldest: those sent before it and not yet taken back
/// are counted, the aborted one is retried.
#[test]
fn an_abort_behind_slots_not_yet_reclaimed_is_retried_and_every_slot_counted() {
    let mut nic = started();
    nic.transmit(&frame(100, 1)).unwrap();
    nic.transmit(&frame(100, 2)).unwrap();
    model(&mut nic).tx_behaviour = TxBehaviour::Abort(1);
    nic.transmit(&frame(100, 3)).unwrap();
    assert!(nic.service_interrupt(), "TER interrupts");
    let stats = nic.stats();
    assert_eq!(stats.tx_aborts_retried, 1);
    assert_eq!(stats.tx_packets, 3);
    assert_eq!(stats.tx_errors, 0);
    assert_eq!(
        model(&mut nic).sent,
        [frame(100, 1), frame(100, 2), frame(100, 3)]
    );
}

/// Slots the chip finished but the driver has not taken back yet (nothing needed them) never
/// look stuck to the watchdog: it reclaims first, and times only what the chip still holds.
#[test]
fn finished_slots_not_yet_reclaimed_never_trip_the_watchdog() {
    let mut nic = started();
    let start = model(&mut nic).now_ms;
    nic.transmit(&frame(60, 1)).unwrap();
    nic.transmit(&frame(60, 2)).unwrap();
    model(&mut nic).now_ms = start + TX_TIMEOUT_MS / 2;
    model(&mut nic).tx_behaviour = TxBehaviour::Hang;
    nic.transmit(&frame(60, 3)).unwrap();
    model(&mut nic).now_ms = start + TX_TIMEOUT_MS;
    assert_eq!(nic.watchdog(), Some(TX_TIMEOUT_MS / 2));
    assert_eq!(nic.stats().tx_timeouts, 0);
    assert_eq!(nic.stats().tx_packets, 2);
    model(&mut nic).now_ms = start + TX_TIMEOUT_MS / 2 + TX_TIMEOUT_MS;
    assert_eq!(nic.watchdog(), None);
    assert_eq!(nic.stats().tx_timeouts, 1);
    assert_eq!(nic.stats().tx_errors, 1, "only the frame the chip held");
}

#[test]
fn an_underrun_loses_the_frame_and_raises_the_early_transmit_threshold() {
    let mut nic = started();
    model(&mut nic).tx_behaviour = TxBehaviour::Underrun;
    nic.transmit(&frame(1500, 1)).unwrap();
    let first_tsd = model(&mut nic).writes.last().unwrap().1;
    assert_eq!(first_tsd >> 16 & 0x3f, 8, "256 bytes to start with");
    assert!(nic.service_interrupt());
    assert_eq!(nic.stats().tx_underruns, 1);
    assert_eq!(nic.stats().tx_errors, 1);
    model(&mut nic).tx_behaviour = TxBehaviour::Send;
    nic.transmit(&frame(1500, 2)).unwrap();
    let next_tsd = model(&mut nic).writes.last().unwrap().1;
    assert_eq!(
        next_tsd >> 16 & 0x3f,
        10,
        "64 bytes more after the underrun"
    );
}

/// A transmitter that never finishes: the watchdog resets the chip once the oldest slot has
/// been held TX_TIMEOUT_MS, counts it, and the card sends again.
#[test]
fn the_watchdog_resets_a_chip_that_holds_a_slot_too_long() {
    let mut nic = started();
    model(&mut nic).tx_behaviour = TxBehaviour::Hang;
    let start = model(&mut nic).now_ms;
    nic.transmit(&frame(60, 1)).unwrap();
    nic.transmit(&frame(60, 2)).unwrap();
    assert_eq!(nic.watchdog(), Some(TX_TIMEOUT_MS));
    model(&mut nic).now_ms = start + TX_TIMEOUT_MS - 1;
    assert_eq!(nic.watchdog(), Some(1));
    assert_eq!(nic.stats().tx_timeouts, 0);
    model(&mut nic).now_ms = start + TX_TIMEOUT_MS;
    assert_eq!(nic.watchdog(), None, "every slot free after the reset");
    let stats = nic.stats();
    assert_eq!(stats.tx_timeouts, 1);
    assert_eq!(stats.tx_errors, 2, "the two frames in flight are lost");
    assert_eq!(model(&mut nic).chip_resets, 2);
    model(&mut nic).tx_behaviour = TxBehaviour::Send;
    for i in 0..TX_SLOT_COUNT + 1 {
        nic.transmit(&frame(60, 10 + i as u8)).unwrap();
    }
    assert_eq!(model(&mut nic).sent.len(), TX_SLOT_COUNT + 1);
    assert!(!model(&mut nic).busy_buffer_overwritten);
}

/// An event that cannot be cleared (a stuck chip): the handler stops after its bound of
/// rounds instead of spinning with interrupts off, and says so in the counters.
#[test]
fn the_interrupt_loop_is_bounded_when_an_event_never_clears() {
    let mut nic = started();
    model(&mut nic).stuck_isr = INT_LINK_CHANGE;
    let writes_before = model(&mut nic).writes.len();
    assert!(nic.service_interrupt());
    let isr_writes = model(&mut nic).writes[writes_before..]
        .iter()
        .filter(|(register, _)| *register == ISR)
        .count();
    assert_eq!(isr_writes, MAX_SERVICE_ROUNDS);
    assert_eq!(nic.stats().interrupt_round_limits, 1);
    assert_eq!(nic.stats().interrupts, 1);
    // Once the chip lets go, the next interrupt ends normally.
    model(&mut nic).stuck_isr = 0;
    model(&mut nic).isr = INT_LINK_CHANGE;
    assert!(nic.service_interrupt());
    assert_eq!(nic.stats().interrupt_round_limits, 1);
}

/// ISR reads 0xFFFF: the chip is gone. The driver says so once, then never touches it again;
/// what it had queued can still be read.
#[test]
fn a_chip_reading_all_ones_is_left_alone() {
    let mut nic = started();
    model(&mut nic).receive(&frame(80, 1));
    nic.service_interrupt();
    model(&mut nic).gone = true;
    assert!(!nic.service_interrupt());
    assert_eq!(model(&mut nic).accesses_while_gone, 1, "the one ISR read");
    assert!(!nic.service_interrupt());
    assert_eq!(nic.transmit(&frame(60, 1)), Err(TxError::NoCard));
    assert!(!nic.can_transmit());
    assert_eq!(nic.watchdog(), None);
    nic.enable_interrupts();
    assert_eq!(received(&mut nic), [frame(80, 1)]);
    assert_eq!(model(&mut nic).accesses_while_gone, 1);
    assert!(!nic.stats().link_up);
}

proptest::proptest! {
    /// Frames arriving in any pattern, interrupts and the stack's reads coming in any order:
    /// every frame the chip stored comes out once, in order, whatever the batches were; in
    /// the end CAPR has given the whole ring back; no header was ever taken for bad or
    /// stalled.
    #[test]
    fn any_arrival_pattern_delivers_every_stored_frame_once_in_order(
        steps in proptest::collection::vec((0u8..4, ETHERNET_HEADER_LEN..=MAX_FRAME_LEN), 1..150),
    ) {
        let mut nic = started();
        let mut stored = Vec::new();
        let mut got = Vec::new();
        let mut buffer = [0u8; 1518];
        for (i, &(what, len)) in steps.iter().enumerate() {
            match what {
                0 | 1 => {
                    let sent = frame(len, i as u8);
                    if model(&mut nic).receive(&sent) {
                        stored.push(sent);
                    }
                }
                2 => {
                    nic.service_interrupt();
                }
                _ => {
                    for _ in 0..len % 5 {
                        if let Some(n) = nic.receive(&mut buffer) {
                            got.push(buffer[..n].to_vec());
                        }
                    }
                }
            }
        }
        for _ in 0..2 * RX_QUEUE_FRAMES {
            nic.service_interrupt();
            got.extend(received(&mut nic));
        }
        proptest::prop_assert_eq!(got.len(), stored.len());
        proptest::prop_assert!(got == stored, "frames lost, duplicated or reordered");
        let chip = model(&mut nic);
        proptest::prop_assert_eq!(chip.read_offset, chip.write_offset);
        let stats = nic.stats();
        proptest::prop_assert_eq!(stats.rx_bad_headers + stats.rx_stalls + stats.receiver_resets, 0);
    }
}
