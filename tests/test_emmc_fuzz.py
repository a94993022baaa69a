"""Arbitrary host traffic never raises out of the card, and every answer is well formed."""
from hypothesis import given, settings
from hypothesis import strategies as st

from emmc_helpers import CardHost

from emmc_card import CardConfig, EmmcCard
from emmc_card.bus import NCR_MAX, NCR_MIN
from emmc_card.crc import crc16_lines
from emmc_card.protocol import decode_r1, encode_command

CLK = 20_000
INDICES = [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 16, 17, 18, 23, 24, 25, 5, 55]

command = st.tuples(st.just("cmd"), st.sampled_from(INDICES),
                    st.one_of(st.integers(0, 0xFFFFFFFF), st.sampled_from([0, 0x20000, 0x10000, 0x40FF8080])))
garbage = st.tuples(st.just("raw"), st.binary(max_size=8), st.just(0))
block = st.tuples(st.just("write"), st.sampled_from([0, 1, 2]), st.just(0))
read = st.tuples(st.just("read"), st.just(0), st.just(0))
cut = st.tuples(st.just("cut"), st.just(0), st.just(0))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(command, garbage, block, read, cut), max_size=40),
       st.integers(0, 1000), st.booleans())
def test_random_traffic(ops, seed, initialised):
    card = EmmcCard(CardConfig(user_area_bytes=4 * 1024 ** 2, boot_size_mult=1, cache_size_kib=2,
                               seed=seed))
    t = 0
    if initialised:                     # start from tran, 4-bit, cache on
        host = CardHost(card)
        host.init(width=4)
        host.switch(33, 1)
        t = host.t
    for op, a, b in ops:
        t += 200 * CLK + 2_000_000_000 * (op == "cmd" and a == 1)
        if op == "cmd":
            out = card.command(encode_command(a, b), t, CLK)
            if out.response is not None and len(out.response) == 6 and out.response[0] != 0x3F:
                index, _ = decode_r1(out.response)
                assert index == a
                assert NCR_MIN <= out.delay_cycles <= NCR_MAX
        elif op == "raw":
            assert card.command(a, t, CLK).response is None or len(a) == 6
        elif op == "write":
            data = bytes([a]) * 512
            crcs = crc16_lines(data, card.bus_width, card.ddr) if a else (0,) * card.bus_width
            out = card.write_block(data, crcs, t, CLK)
            assert out.token in (None, 0b010, 0b101)
        elif op == "read":
            out = card.read_block(t, CLK)
            assert out is None or (len(out.data) <= 512
                                   and out.crcs == crc16_lines(out.data, card.bus_width, card.ddr))
        else:
            card.power_cut(t)
            card.power_on(t)
        assert 0 <= card.state(t) <= 8
    card.close()
