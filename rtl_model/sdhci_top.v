// sdhci_top: an SD Host Controller (SDHCI v3.00 register map; PIO, SDMA and
// ADMA2) with an AXI4-Lite slave, an AXI4 master on host memory and
// SD/eMMC pins, for simulation with Icarus Verilog and synthesis with Yosys.
//
// Pins: the engines update their outputs on the clk edge at which sdclk
// rises; the pad registers below copy them on the next falling edge of clk
// with sdclk low, so CMD/DAT change after the sdclk falling edge (half a clk
// period after it for a divided clock, at it for N = 0) and are stable at
// the next sdclk rising edge, where the card samples them. The host samples
// cmd_i/dat_i on the clk edge at which sdclk rises. dat_oe is one enable for
// all eight data lines; lines unused by the bus width are driven high.
`default_nettype none

module sdhci_top #(
    parameter integer BASE_CLK_MHZ = 50   // 1..63: reported as base and timeout clock
) (
    input  wire        clk,
    input  wire        rst_n,
    input  wire [11:0] s_axil_awaddr,
    input  wire [2:0]  s_axil_awprot,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output wire [1:0]  s_axil_bresp,
    output wire        s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [11:0] s_axil_araddr,
    input  wire [2:0]  s_axil_arprot,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output wire [31:0] s_axil_rdata,
    output wire [1:0]  s_axil_rresp,
    output wire        s_axil_rvalid,
    input  wire        s_axil_rready,
    // AXI4 master on host memory (SDMA, ADMA2): sdhci_axi_master
    output wire        m_axi_awid,
    output wire [31:0] m_axi_awaddr,
    output wire [7:0]  m_axi_awlen,
    output wire [2:0]  m_axi_awsize,
    output wire [1:0]  m_axi_awburst,
    output wire        m_axi_awlock,
    output wire [3:0]  m_axi_awcache,
    output wire [2:0]  m_axi_awprot,
    output wire        m_axi_awvalid,
    input  wire        m_axi_awready,
    output wire [31:0] m_axi_wdata,
    output wire [3:0]  m_axi_wstrb,
    output wire        m_axi_wlast,
    output wire        m_axi_wvalid,
    input  wire        m_axi_wready,
    input  wire        m_axi_bid,
    input  wire [1:0]  m_axi_bresp,
    input  wire        m_axi_bvalid,
    output wire        m_axi_bready,
    output wire        m_axi_arid,
    output wire [31:0] m_axi_araddr,
    output wire [7:0]  m_axi_arlen,
    output wire [2:0]  m_axi_arsize,
    output wire [1:0]  m_axi_arburst,
    output wire        m_axi_arlock,
    output wire [3:0]  m_axi_arcache,
    output wire [2:0]  m_axi_arprot,
    output wire        m_axi_arvalid,
    input  wire        m_axi_arready,
    input  wire        m_axi_rid,
    input  wire [31:0] m_axi_rdata,
    input  wire [1:0]  m_axi_rresp,
    input  wire        m_axi_rlast,
    input  wire        m_axi_rvalid,
    output wire        m_axi_rready,
    output wire        sdclk,
    output reg         cmd_o,
    output reg         cmd_oe,
    input  wire        cmd_i,
    output reg  [7:0]  dat_o,
    output reg         dat_oe,
    input  wire [7:0]  dat_i,
    output wire        irq
);
    generate
        if (BASE_CLK_MHZ < 1 || BASE_CLK_MHZ > 63) begin : g_bad_base_clk
            // Elaboration fails here: the 6-bit timeout clock field cannot report it.
            BASE_CLK_MHZ_must_be_1_to_63 u_error ();
        end
    endgenerate

    // register bus
    wire        wr_en, wr_err, rd_en, rd_err;
    wire [11:0] wr_addr, rd_addr;
    wire [31:0] wr_data, rd_data;
    wire [3:0]  wr_strb;

    sdhci_axil u_axil (
        .clk(clk), .rst_n(rst_n),
        .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot),
        .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
        .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
        .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
        .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
        .s_axil_araddr(s_axil_araddr), .s_axil_arprot(s_axil_arprot),
        .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
        .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
        .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
        .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data), .wr_strb(wr_strb), .wr_err(wr_err),
        .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data), .rd_err(rd_err)
    );

    wire        srst_all, srst_cmd, srst_dat;
    wire        int_clk_en, sd_clk_en, int_clk_stable, tick, launch, hold;
    wire [9:0]  clk_div;

    sdhci_clkdiv u_clkdiv (
        .clk(clk), .rst_n(rst_n), .int_clk_en(int_clk_en), .sd_clk_en(sd_clk_en),
        .div(clk_div), .hold(hold), .int_clk_stable(int_clk_stable),
        .sdclk(sdclk), .tick(tick), .launch(launch)
    );

    wire         cmd_start, cmd_crc_check, cmd_index_check, cmd_active, cmd_sent, cmd_rsp_end, cmd_done;
    wire [5:0]   cmd_index;
    wire [31:0]  cmd_argument;
    wire [1:0]   cmd_rsp_type;
    wire         cmd_err_timeout, cmd_err_crc, cmd_err_end, cmd_err_index;
    wire [119:0] cmd_rsp;
    wire         cmd_q, cmd_oe_q;

    sdhci_cmd u_cmd (
        .clk(clk), .rst(!rst_n || srst_all || srst_cmd), .tick(tick),
        .start(cmd_start), .index(cmd_index), .argument(cmd_argument), .rsp_type(cmd_rsp_type),
        .crc_check(cmd_crc_check), .index_check(cmd_index_check), .cmd_i(cmd_i),
        .cmd_o(cmd_q), .cmd_oe(cmd_oe_q), .active(cmd_active), .sent(cmd_sent),
        .rsp_end(cmd_rsp_end), .done(cmd_done), .err_timeout(cmd_err_timeout),
        .err_crc(cmd_err_crc), .err_end(cmd_err_end), .err_index(cmd_err_index), .rsp(cmd_rsp)
    );

    wire [1:0]  bus_width;
    wire [11:0] block_size;
    wire [15:0] block_count;
    wire [3:0]  timeout_n;
    wire        multi_block, block_count_en, read_dir, auto_cmd12, block_count_dec;
    wire        xfer_start, busy_start, dat_cmd_sent, dat_cmd_done, dat_cmd_err;
    wire        acmd_req, acmd_done, acmd_err, buf_we, buf_re;
    wire [31:0] buf_rdata;
    wire        dat_inhibit, dat_line_active, wr_active, rd_active, buf_wr_en, buf_rd_en;
    wire        ev_xfer_done, ev_buf_wr_ready, ev_buf_rd_ready, ev_data_timeout, ev_data_crc, ev_data_end_bit;
    // the data engine's own view of its buffer, before sdhci_dma (DMA owns the buffer in DMA mode)
    wire        eng_inhibit, eng_buf_wr_en, eng_buf_rd_en, eng_ev_xfer_done, eng_ev_buf_wr_ready,
                eng_ev_buf_rd_ready, host_buf_we, host_buf_re;
    wire [31:0] buf_wdata;
    wire [3:0]  buf_wstrb;
    wire [7:0]  dat_q;
    wire        dat_oe_q;

    sdhci_dat u_dat (
        .clk(clk), .rst(!rst_n || srst_all || srst_dat), .tick(tick),
        .dat_i(dat_i), .dat_o(dat_q), .dat_oe(dat_oe_q), .hold(hold),
        .bus_width(bus_width), .block_size(block_size), .block_count(block_count),
        .multi_block(multi_block), .block_count_en(block_count_en), .read_dir(read_dir),
        .auto_cmd12(auto_cmd12), .timeout_n(timeout_n), .block_count_dec(block_count_dec),
        .xfer_start(xfer_start), .busy_start(busy_start), .cmd_sent(dat_cmd_sent),
        .cmd_rsp_end(cmd_rsp_end), .cmd_done(dat_cmd_done), .cmd_err(dat_cmd_err),
        .acmd_req(acmd_req), .acmd_done(acmd_done), .acmd_err(acmd_err),
        .buf_we(buf_we), .buf_wdata(buf_wdata), .buf_wstrb(buf_wstrb), .buf_re(buf_re),
        .buf_rdata(buf_rdata),
        .inhibit(eng_inhibit), .line_active(dat_line_active), .wr_active(wr_active),
        .rd_active(rd_active), .buf_wr_en(eng_buf_wr_en), .buf_rd_en(eng_buf_rd_en),
        .ev_xfer_done(eng_ev_xfer_done), .ev_buf_wr_ready(eng_ev_buf_wr_ready),
        .ev_buf_rd_ready(eng_ev_buf_rd_ready), .ev_timeout(ev_data_timeout),
        .ev_crc(ev_data_crc), .ev_end_bit(ev_data_end_bit)
    );

    // ---- DMA: sdhci_dma between the data engine's buffer and the register file, and its AXI4 master ----
    wire [31:0] sdma_address, adma_address, adma_address_hi;
    wire [2:0]  adma_error_status, sdma_boundary;
    wire [1:0]  dma_select;
    wire        dma_enable, ev_dma_int, ev_adma_err;
    wire        m_req, m_req_write, m_idle, m_done, m_err, m_rd_beat, m_wr_beat;
    wire [31:2] m_req_addr;
    wire [7:0]  m_req_words;
    wire [31:0] m_rd_data, m_wr_data;

    sdhci_dma u_dma (
        .clk(clk), .rst_n(rst_n), .srst_all(srst_all), .srst_dat(srst_dat),
        .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data), .wr_strb(wr_strb),
        .sdma_address(sdma_address), .adma_address(adma_address), .adma_address_hi(adma_address_hi),
        .adma_error_status(adma_error_status),
        .dma_enable(dma_enable), .dma_select(dma_select), .sdma_boundary(sdma_boundary),
        .block_size(block_size), .block_count(block_count), .multi_block(multi_block),
        .block_count_en(block_count_en), .read_dir(read_dir), .xfer_start(xfer_start),
        .dat_buf_wr_en(eng_buf_wr_en), .dat_buf_rd_en(eng_buf_rd_en),
        .dat_ev_buf_wr_ready(eng_ev_buf_wr_ready), .dat_ev_buf_rd_ready(eng_ev_buf_rd_ready),
        .dat_ev_xfer_done(eng_ev_xfer_done), .dat_inhibit(eng_inhibit), .buf_rdata(buf_rdata),
        .host_buf_we(host_buf_we), .host_buf_wdata(wr_data), .host_buf_wstrb(wr_strb), .host_buf_re(host_buf_re),
        .buf_we(buf_we), .buf_wdata(buf_wdata), .buf_wstrb(buf_wstrb), .buf_re(buf_re),
        .buf_wr_en(buf_wr_en), .buf_rd_en(buf_rd_en), .ev_buf_wr_ready(ev_buf_wr_ready),
        .ev_buf_rd_ready(ev_buf_rd_ready), .ev_xfer_done(ev_xfer_done), .inhibit(dat_inhibit),
        .ev_dma_int(ev_dma_int), .ev_adma_err(ev_adma_err),
        .m_req(m_req), .m_req_write(m_req_write), .m_req_addr(m_req_addr), .m_req_words(m_req_words),
        .m_idle(m_idle), .m_done(m_done), .m_err(m_err), .m_rd_beat(m_rd_beat), .m_rd_data(m_rd_data),
        .m_wr_data(m_wr_data), .m_wr_beat(m_wr_beat)
    );

    sdhci_axi_master u_axi_master (
        .clk(clk), .rst(!rst_n),
        .req(m_req), .req_write(m_req_write), .req_addr(m_req_addr), .req_words(m_req_words),
        .idle(m_idle), .done(m_done), .err(m_err), .rd_beat(m_rd_beat), .rd_data(m_rd_data),
        .wr_data(m_wr_data), .wr_beat(m_wr_beat),
        .m_axi_awid(m_axi_awid), .m_axi_awaddr(m_axi_awaddr), .m_axi_awlen(m_axi_awlen), .m_axi_awsize(m_axi_awsize),
        .m_axi_awburst(m_axi_awburst), .m_axi_awlock(m_axi_awlock), .m_axi_awcache(m_axi_awcache),
        .m_axi_awprot(m_axi_awprot), .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready),
        .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb), .m_axi_wlast(m_axi_wlast),
        .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready),
        .m_axi_bid(m_axi_bid), .m_axi_bresp(m_axi_bresp), .m_axi_bvalid(m_axi_bvalid), .m_axi_bready(m_axi_bready),
        .m_axi_arid(m_axi_arid), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen), .m_axi_arsize(m_axi_arsize),
        .m_axi_arburst(m_axi_arburst), .m_axi_arlock(m_axi_arlock), .m_axi_arcache(m_axi_arcache),
        .m_axi_arprot(m_axi_arprot), .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready),
        .m_axi_rid(m_axi_rid), .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast),
        .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready)
    );
    // ---- end of DMA ----

    sdhci_regs #(.BASE_CLK_MHZ(BASE_CLK_MHZ)) u_regs (
        .clk(clk), .rst_n(rst_n),
        .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data), .wr_strb(wr_strb), .wr_err(wr_err),
        .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data), .rd_err(rd_err),
        .srst_all(srst_all), .srst_cmd(srst_cmd), .srst_dat(srst_dat),
        .int_clk_en(int_clk_en), .sd_clk_en(sd_clk_en), .clk_div(clk_div),
        .int_clk_stable(int_clk_stable),
        .cmd_start(cmd_start), .cmd_index(cmd_index), .cmd_argument(cmd_argument),
        .cmd_rsp_type(cmd_rsp_type), .cmd_crc_check(cmd_crc_check), .cmd_index_check(cmd_index_check),
        .cmd_active(cmd_active), .cmd_sent(cmd_sent), .cmd_done(cmd_done),
        .cmd_err_timeout(cmd_err_timeout), .cmd_err_crc(cmd_err_crc), .cmd_err_end(cmd_err_end),
        .cmd_err_index(cmd_err_index), .cmd_rsp(cmd_rsp),
        .bus_width(bus_width), .block_size(block_size), .block_count(block_count),
        .multi_block(multi_block), .block_count_en(block_count_en), .read_dir(read_dir),
        .auto_cmd12(auto_cmd12), .timeout_n(timeout_n), .block_count_dec(block_count_dec),
        .xfer_start(xfer_start), .busy_start(busy_start), .dat_cmd_sent(dat_cmd_sent),
        .dat_cmd_done(dat_cmd_done), .dat_cmd_err(dat_cmd_err),
        .acmd_req(acmd_req), .acmd_done(acmd_done), .acmd_err(acmd_err),
        .buf_we(host_buf_we), .buf_re(host_buf_re), .buf_rdata(buf_rdata),
        .dat_inhibit(dat_inhibit), .dat_line_active(dat_line_active), .wr_active(wr_active),
        .rd_active(rd_active), .buf_wr_en(buf_wr_en), .buf_rd_en(buf_rd_en),
        .ev_xfer_done(ev_xfer_done), .ev_buf_wr_ready(ev_buf_wr_ready),
        .ev_buf_rd_ready(ev_buf_rd_ready), .ev_data_timeout(ev_data_timeout),
        .ev_data_crc(ev_data_crc), .ev_data_end_bit(ev_data_end_bit),
        .sdma_address(sdma_address), .adma_address(adma_address), .adma_address_hi(adma_address_hi),
        .adma_error_status(adma_error_status), .dma_enable(dma_enable), .dma_select(dma_select),
        .sdma_boundary(sdma_boundary), .ev_dma_int(ev_dma_int), .ev_adma_err(ev_adma_err),
        .cmd_i(cmd_i), .dat_i(dat_i[3:0]), .irq(irq)
    );

    // Pad registers: launch on the falling clk edge while sdclk is low.
    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed): in reset or when a pad would change.
    wire pads_launch = launch && ({cmd_o, cmd_oe, dat_o, dat_oe} != {cmd_q, cmd_oe_q, dat_q, dat_oe_q});
    always @(negedge clk) if ((!rst_n || pads_launch)) begin
        if (!rst_n) begin
            cmd_o <= 1'b1;
            cmd_oe <= 1'b0;
            dat_o <= 8'hFF;
            dat_oe <= 1'b0;
        end else if (launch) begin
            cmd_o <= cmd_q;
            cmd_oe <= cmd_oe_q;
            dat_o <= dat_q;
            dat_oe <= dat_oe_q;
        end
    end
endmodule

`default_nettype wire
