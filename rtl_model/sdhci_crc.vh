// Serial CRC steps of the SD bus, included inside the modules that need them.
// CRC7: x^7 + x^3 + 1 (command and response tokens). CRC16: x^16 + x^12 +
// x^5 + 1 (CCITT 0x1021, one per DAT line). Both start at 0; feeding a block
// followed by its own CRC leaves the register at 0.

function [6:0] crc7_step(input [6:0] crc, input din);
    begin
        crc7_step = {crc[5:0], 1'b0} ^ ((crc[6] ^ din) ? 7'h09 : 7'h00);
    end
endfunction

function [15:0] crc16_step(input [15:0] crc, input din);
    begin
        crc16_step = {crc[14:0], 1'b0} ^ ((crc[15] ^ din) ? 16'h1021 : 16'h0000);
    end
endfunction
