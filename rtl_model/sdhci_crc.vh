// Serial CRC7 step of the SD bus (command and response tokens), included in
// sdhci_cmd: x^7 + x^3 + 1, starting at 0; feeding a token's bits followed by
// its own CRC leaves the register at 0. The CRC16 of the DAT lines (x^16 +
// x^12 + x^5 + 1) is computed bit-sliced for all eight lines in sdhci_dat.

function [6:0] crc7_step(input [6:0] crc, input din);
    begin
        crc7_step = {crc[5:0], 1'b0} ^ ((crc[6] ^ din) ? 7'h09 : 7'h00);
    end
endfunction
