/** Real Vietnamese prose for tests and the benchmark: abbreviations, numbers, quotes, an ellipsis, paragraphs. */
export const VIETNAMESE_STORY = `Mỗi năm, khi những cơn gió heo may đầu tiên tràn về, Hà Nội như khoác lên mình một tấm áo mới. Buổi sáng, sương mỏng phủ trên mặt hồ Gươm, những hàng liễu rủ bóng xuống nước, và người đi tập thể dục đã đông từ lúc trời còn chưa sáng hẳn. Bà cụ bán hoa sữa ở góc phố Hàng Khay vẫn ngồi đó như mọi năm. Bà bảo rằng mùa thu năm nay đến sớm hơn, hoa cũng nở nhiều hơn, nhưng khách mua thì ít đi.

Anh Minh, một kỹ sư phần mềm từ TP. HCM ra công tác, đứng lặng nhìn dòng người qua lại. Anh kể rằng ở Sài Gòn không có mùa thu, chỉ có mùa mưa và mùa nắng. Chuyến đi lần này do công ty tài trợ, tổng chi phí khoảng 15.500.000 đồng cho năm ngày, kể cả vé máy bay khứ hồi. Theo TS. Nguyễn Văn Hùng, người hướng dẫn đoàn, nhiệt độ trung bình của Hà Nội vào tháng 10 chỉ khoảng 25,5 độ, dễ chịu hơn nhiều so với cái nóng 35 độ của tháng 6.

Buổi chiều, cả đoàn đi dọc phố cổ, ghé qua Hàng Mã với những dãy đèn lồng đỏ rực, dừng chân ở Hàng Buồm để nếm thử bát chè sen nóng hổi, rồi men theo con đường gạch cũ dẫn ra chợ Đồng Xuân, nơi những người bán hàng rong đang í ới gọi nhau, nơi mùi cốm mới thơm ngát lẫn trong mùi khói bếp than, và nơi ai cũng có thể tìm thấy một chút ký ức tuổi thơ của chính mình giữa nhịp sống hối hả của thành phố ngàn năm văn hiến.

Tối đến, họ ngồi trong một quán cà phê nhỏ trên tầng ba, nhìn xuống hồ. Minh hỏi cô hướng dẫn viên: “Em sinh ra ở đây à?” Cô gật đầu, rồi cười… Cô nói rằng mình đã đi nhiều nơi, từ Đà Lạt mờ sương đến Phú Quốc đầy nắng, nhưng chẳng nơi nào khiến cô nhớ nhung như những chiều thu Hà Nội. Ừ. Có lẽ ai xa quê cũng vậy.

Đêm đó, Minh viết vào sổ tay vài dòng ngắn ngủi. Anh ghi lại tên những con phố, giá một cốc trà đá là 5.000 đồng, giá một đĩa bánh cuốn là 40.000 đồng, và cả số điện thoại của bà cụ bán hoa. Anh định sang năm sẽ quay lại, lần này mang theo cả gia đình, để các con anh biết rằng trên đất nước này còn có một mùa thu dịu dàng đến thế. Trước khi ngủ, anh mở cửa sổ, hít một hơi thật sâu mùi hoa sữa nồng nàn, và mỉm cười một mình trong bóng tối.

Sáng hôm sau, trời trở lạnh hơn một chút. Cả đoàn dậy sớm để kịp chuyến tàu đi Lào Cai lúc 6 giờ 30 phút, nhưng Minh vẫn tranh thủ chạy ra đầu ngõ mua một gói xôi xéo còn nóng. Người bán xôi là một chị phụ nữ chừng bốn mươi tuổi, tay thoăn thoắt gói lá chuối, miệng hỏi chuyện không ngừng. Chị bảo chồng chị làm ở Q. Ba Đình, còn con gái đang học năm thứ hai ở Trường Đại học Sư phạm. Nghe giọng Minh, chị đoán ngay anh là người miền Nam, rồi dúi thêm cho anh mấy miếng hành phi, nói rằng ăn thế mới đúng vị Hà Nội.

Trên tàu, Minh ngồi cạnh cửa sổ, nhìn những cánh đồng lúa chín vàng trải dài ngút tầm mắt. Anh chợt nghĩ rằng mình đã sống quá vội vàng trong suốt mười năm qua. Công việc, hạn chót, những cuộc họp kéo dài đến tận khuya… Tất cả dường như tan biến trước khung cảnh bình yên ấy. Anh lấy điện thoại ra, định chụp một tấm ảnh, nhưng rồi lại cất đi. Có những khoảnh khắc chỉ nên giữ lại trong lòng.

Hết.`;

/**
 * More than 3000 characters as a Discord user would paste it: the story plus markup the bot must not read
 * (bold, a link, an emoji, a code block).
 */
export const LONG_VIETNAMESE_TEXT = `**Chuyện mùa thu** 🍂\n\n${VIETNAMESE_STORY}\n\nGhi chú của người kể: câu chuyện này được viết lại từ những trang nhật ký cũ, với đôi chỗ thêm thắt cho dễ đọc. Mong bạn đọc thông cảm nếu có điều gì chưa đúng.\n\nNguồn: https://example.com/mua-thu\n\`\`\`\nconsole.log("không đọc")\n\`\`\``;
